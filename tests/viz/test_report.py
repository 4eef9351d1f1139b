"""The HTML report: text is escaped, tables format numbers, figures are embedded, writes are atomic."""
import base64
import re
import struct
import zlib

from nnzoo.viz.report import Report


def _png_1x1():
    """The smallest valid PNG (one transparent pixel), built from its chunks."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_report_escapes_formats_and_embeds(tmp_path):
    png = tmp_path / "fig.png"
    png.write_bytes(_png_1x1())
    r = Report("A <title>", subtitle="sub & title")
    r.section("Results", "first <para>\n\nsecond para", table=[{"model": "mlp", "acc": 0.97531, "epochs": 3}],
              figures=[(png, "a caption")], code="x < y")
    path = r.write(tmp_path / "out" / "report.html")
    page = path.read_text()
    assert "<h1>A &lt;title&gt;</h1>" in page and "sub &amp; title" in page
    assert "<p>first &lt;para&gt;</p>" in page and "<p>second para</p>" in page
    assert '<td class="num">0.9753</td>' in page and '<td class="num">3</td>' in page
    assert "<pre>x &lt; y</pre>" in page and "a caption" in page
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(data) == png.read_bytes()
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary file left behind


def test_report_table_as_header_and_rows():
    r = Report("t")
    r.section("s", table=(["a", "b"], [[1, "x"], [2.5, "y"]]))
    page = r.html()
    assert "<th>a</th><th>b</th>" in page and '<td class="num">2.5</td><td>y</td>' in page
