"""The command line: a thin click layer over ``sandboxer.context.Context``."""
