"""The pytest side: the thin ``pytest11`` plugin, its settings, the checker fixture, Hypothesis
kill plans and the hang watchdog."""
