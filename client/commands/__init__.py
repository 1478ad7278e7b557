"""The subcommands of ``aalps``: each module registers its parser and the function it runs."""
