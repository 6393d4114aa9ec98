"""aliasgate: the command that composes the planes (`aliasgate.cli`), plumbing both planes share
(`aliasgate.runtime`) and the upstream simulator used by the demo and the tests (`aliasgate.simulator`)."""
