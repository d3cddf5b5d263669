"""klaviyo-mcp: Klaviyo reporting and approval-gated drafting for AI assistants."""

__version__ = "0.1.0"


def interpreter_hint(missing: str) -> str:
    """What to say when the interpreter running us lacks the project's packages (``python3 server.py`` with
    the system Python): which interpreter to use instead. Standard library only: it runs before them."""
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    lacking = f"{sys.executable} lacks the project's packages ({missing} is not installed)"
    for python in (repo / ".venv" / "bin" / "python", repo / ".venv" / "Scripts" / "python.exe"):
        if python.is_file():
            return f"{lacking}: use {python}"
    return f"{lacking}: run `make venv` in {repo}, then use {repo / '.venv' / 'bin' / 'python'}"
