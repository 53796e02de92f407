"""A real S3-compatible server on 127.0.0.1 (moto's server mode) for the image-store tests."""
