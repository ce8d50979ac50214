"""Lets `python -m qwen3_server` run the command-line interface."""

from qwen3_server.cli import main

main()
