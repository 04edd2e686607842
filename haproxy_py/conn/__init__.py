"""Connection-level protocols, pure (HAProxy's connection.c): the PROXY protocol codec, the
connection error codes (errors.py)."""
