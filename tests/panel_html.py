"""Reading symnet's notebook panels back in tests: table cells as text, SVG edges counted."""

from html.parser import HTMLParser


class Tables(HTMLParser):
    """The text of every symnet table's cells (table by table, row by row), and the number of
    Graphviz edge groups (``<g class="edge">``) in the page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.edges = 0
        self.cell: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "symnet-table") in attrs:
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell = ""
        elif tag == "g" and ("class", "edge") in attrs:
            self.edges += 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(self.cell.replace("\xa0", " ").strip())
            self.cell = None

    def rows(self, index: int) -> dict[str, list[str]]:
        """Table ``index`` as first cell → the other cells (header row left out)."""
        return {row[0]: row[1:] for row in self.tables[index][1:]}
