"""Local fake servers speaking the real wire protocols, on 127.0.0.1 only."""
