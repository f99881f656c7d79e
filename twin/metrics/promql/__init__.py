"""PromQL: lexer, parser, evaluator and functions, run against the twin's in-memory series store."""
