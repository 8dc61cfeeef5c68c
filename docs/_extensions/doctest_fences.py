"""A griffe extension for the API pages: doctest examples become highlighted code blocks.

The library's docstrings follow Keras': `Example:` and then the doctest, `>>>` lines with their
output, at the docstring's own indentation. Markdown reads a `>>>` line as three nested block
quotes, so before mkdocstrings renders a docstring, each such run of lines (up to the next blank
line) is put between code fences as a `pycon` block. mkdocs.yml names this file in the python
handler's `extensions`.
"""

import griffe

FENCE = "```"


def fence_doctests(text):
    """Returns `text` with each run of doctest lines between `pycon` code fences.

    Args:
        text: str. A docstring, without its leading indentation.

    Returns:
        The docstring, unchanged where it has no `>>>` line or is already fenced.
    """
    if FENCE in text:
        return text
    lines = text.splitlines()
    fenced = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.lstrip().startswith(">>>"):
            fenced.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        fenced.append(f"{indent}{FENCE}pycon")
        while i < len(lines) and lines[i].strip():
            fenced.append(lines[i])
            i += 1
        fenced.append(f"{indent}{FENCE}")
    return "\n".join(fenced)


class DoctestFences(griffe.Extension):
    """Fences the doctests of every docstring as it is loaded."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
