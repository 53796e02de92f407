"""Builders and drivers the suites share; test modules import from here, never from each other.

* ``images``: PNG builders (solid, with a transparent hole, masks, header-only bombs) and decoding;
* ``requests``: GenerationRequest builders;
* ``limits``: BackendLimits of the services the command suites parse against;
* ``jobs``: a platform-neutral job stack (``build_services``) and a recording sink;
* ``settings``: pytest fixtures that build real Settings against the fakes (a pytest plugin);
* ``cli``: run the real ``easel`` console script; ``operator_run``: ``easel run`` as a child process;
* ``network``: free and dead ports on 127.0.0.1;
* ``discord_messages`` / ``slack_messages``: find and check what easel posted on each fake platform;
* ``chat``: one driver per platform so a case can be written once and run on both.
"""
