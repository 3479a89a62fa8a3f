"""The lessons' links to the code: `/code?file=srgan/losses.py&symbol=mse_content_loss` shows that file.

A page of its own (not a Gradio page): the file with line numbers, syntax highlighting (pygments, which
Gradio's dependencies bring), the lines of the symbol highlighted and the page scrolled to them (#L<n>).
Only Python files of the `srgan` package are served; any other path is refused (404).
"""

import ast
import functools
import html
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import srgan

CODE_ROOT = Path(srgan.__file__).resolve().parent  # the srgan package: the only folder served
PATH = "/code"
_FILE = re.compile(r"^srgan(/[A-Za-z_][A-Za-z0-9_]*)+\.py$")  # srgan/x.py, srgan/engine/x.py: no "..", no "//"
CSS = """
body { margin: 0; font: 14px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #fff; }
h1 { font: 600 16px system-ui, sans-serif; margin: 0; padding: 10px 14px; background: #f3f4f6;
     position: sticky; top: 0; border-bottom: 1px solid #ddd; }
.code { padding: 6px 0 40vh; }
.line { display: flex; white-space: pre; scroll-margin-top: 30vh; }
.line.hl { background: #fff3b0; }
.ln { flex: 0 0 4.5em; text-align: right; padding-right: 1em; color: #999; text-decoration: none; user-select: none; }
.src { flex: 1; }
"""


def symbol_lines(source: str, symbol: str) -> tuple[int, int] | None:
    """The first and last line of `symbol` in a Python source: a function, a class or a name assigned.

    A dotted name ("Generator.forward") looks inside a class. A function's or class's lines start at its
    first decorator. None when the source does not define it at that level.
    """
    body = _parse(source).body
    node = None
    for part in symbol.split("."):
        node = next((n for n in body if part in _defined_names(n)), None)
        if node is None:
            return None
        body = getattr(node, "body", [])
    decorators = [d.lineno for d in getattr(node, "decorator_list", [])]
    return min([node.lineno, *decorators]), node.end_lineno or node.lineno


_PARSE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=64)
def _parse(source: str) -> ast.Module:
    """`ast.parse`, once per source text, one thread at a time.

    Every lesson panel names symbols of the same few files, so each is parsed once. The lock is there because
    CPython 3.11's parser raised "SystemError: AST constructor recursion depth mismatch" when two threads
    parsed at once (seen in CI, while the app built its tabs and a background thread parsed too).
    """
    with _PARSE_LOCK:
        return ast.parse(source)


def _defined_names(node: ast.stmt) -> list[str]:
    """The names a top-level statement defines (def, class, NAME = ..., NAME: type = ...)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def source_path(file: str) -> Path:
    """The file `file` ("srgan/losses.py") names, in the srgan package.

    Raises:
        LookupError: not a Python file of the package (another folder, "..", a missing file).
    """
    if not _FILE.match(file or ""):
        raise LookupError(f"not a file of the srgan package: {file!r}")
    path = (CODE_ROOT.parent / file).resolve()
    if not path.is_relative_to(CODE_ROOT) or not path.is_file():
        raise LookupError(f"not a file of the srgan package: {file!r}")
    return path


def code_url(file: str, symbol: str | None = None) -> str:
    """The address of the page showing `file` at `symbol` (with its #L<n> anchor when the symbol is found)."""
    query = {"file": file, **({"symbol": symbol} if symbol else {})}
    url = f"{PATH}?{urlencode(query, safe='/')}"
    try:
        lines = symbol_lines(source_path(file).read_text(encoding="utf-8"), symbol) if symbol else None
    except (LookupError, SyntaxError):
        lines = None
    return f"{url}#L{lines[0]}" if lines else url


def _highlighted(source: str) -> list[str]:
    """The source's lines as HTML: coloured by pygments when it is installed, else escaped plain text."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return [html.escape(line) for line in source.splitlines()]
    # nowrap: one balanced line of spans per source line (pygments closes its spans at each line end)
    return highlight(source, PythonLexer(), HtmlFormatter(nowrap=True)).splitlines()


def code_page(file: str, symbol: str | None = None) -> str:
    """The HTML page of `file`, the lines of `symbol` highlighted (LookupError: a file not served)."""
    source = source_path(file).read_text(encoding="utf-8")
    lines = symbol_lines(source, symbol) if symbol else None
    first, last = lines or (0, -1)
    rows = [
        f'<div class="line{" hl" if first <= n <= last else ""}" id="L{n}"><a class="ln" href="#L{n}">{n}</a>'
        f'<span class="src">{text or " "}</span></div>'
        for n, text in enumerate(_highlighted(source), start=1)
    ]
    title = html.escape(file + (f" — {symbol}" if symbol else ""))
    style = CSS + _pygments_css()
    scroll = f"<script>if (!location.hash) location.replace('#L{first}');</script>" if lines else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>'
        f'<body><h1>{title}</h1><div class="code highlight">{"".join(rows)}</div>{scroll}</body></html>'
    )


def _pygments_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return HtmlFormatter().get_style_defs(".highlight")


def _logged_in(request: Any) -> bool:
    """As Gradio's own routes decide: no password set, or the browser holds a login cookie of this app."""
    app = request.app
    if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
        return True
    if getattr(app, "auth_dependency", None) is not None:
        return app.auth_dependency(request) is not None
    cookie_id = getattr(app, "cookie_id", "")
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    return app.tokens.get(token) is not None


def routes() -> list[Any]:
    """The page's route, for `Blocks.launch(app_kwargs={"routes": routes()})` (before Gradio's own)."""
    from fastapi.responses import HTMLResponse, PlainTextResponse
    from fastapi.routing import APIRoute
    from starlette.requests import Request

    def show(request: Request, file: str = "", symbol: str = "") -> Any:
        if not _logged_in(request):
            return PlainTextResponse("Not authenticated", status_code=401)
        try:
            return HTMLResponse(code_page(file, symbol or None))
        except LookupError as e:
            return PlainTextResponse(str(e), status_code=404)

    return [APIRoute(PATH, show, methods=["GET"], include_in_schema=False)]
