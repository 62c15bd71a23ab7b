"""Real servers the tests run on 127.0.0.1: a scripted fault server and process helpers."""
