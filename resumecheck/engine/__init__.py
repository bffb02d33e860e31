"""The check itself, framework-free: reference and kill plans, runs, recording, comparison,
verdicts. Importing the package costs nothing; the modules that need torch import it."""
