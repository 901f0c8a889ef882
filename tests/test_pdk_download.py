"""`flow pdk install NAME` without --from: download from a local HTTP server on 127.0.0.1 serving archives in
lambdapdk's GitHub layout, built here from the real sky130hd subset: progress, sha256 check, nothing half-installed."""
import io
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flow import pdks

from .conftest import FLOW, REPO

ROOT = "lambdapdk-0.2.22"     # GitHub's archive of tag v0.2.22 unpacks into this folder


def _archive(damage: str = "") -> bytes:
    """The sky130 files of MANIFEST.tsv, a file the flow does not need, and the licence; `damage` names a file
    whose content is changed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"{ROOT}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("LICENSE", b"Apache License 2.0 (test copy)\n")
        for rel in pdks.manifest():
            if rel.startswith("sky130/"):
                data = (pdks.SHARED_PDK_ROOT / "lambdapdk" / rel).read_bytes()
                add(f"lambdapdk/{rel}", data + (b"\n# changed\n" if damage and rel.endswith(damage) else b""))
        add("lambdapdk/sky130/libs/sky130hd/gds/sky130_fd_sc_hd.gds", b"\0" * 1000)   # not needed: dropped
    return buf.getvalue()


@pytest.fixture(scope="module")
def server():
    files = {"/good.tar.gz": _archive(), "/bad.tar.gz": _archive(damage=".tlef")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/cut.tar.gz":         # promises the whole archive, sends a third, hangs up
                data = files["/good.tar.gz"]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 3])
                self.wfile.flush()
                self.connection.close()
                return
            data = files.get(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _install(url, dest, *extra):
    return subprocess.run([*FLOW, "pdk", "install", "sky130hd", "--dest", str(dest), *extra], capture_output=True,
                          text=True, cwd=REPO, env={"PATH": "/usr/bin:/bin", "KAN_PDK_URL": url, "HOME": str(dest)})


def test_download_checks_keeps_the_subset_and_shows_progress(server, tmp_path):
    dest = tmp_path / "pdks" / "lambdapdk"
    res = _install(f"{server}/good.tar.gz", dest)
    assert res.returncode == 0, res.stderr
    assert f"downloading {server}/good.tar.gz" in res.stderr
    assert "[##############################]" in res.stderr and " MB" in res.stderr      # the progress bar, full
    assert res.stdout.startswith("sky130hd: 3 files installed under")
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["LICENSE.lambdapdk-Apache-2.0", "lambdapdk/sky130/base/apr/sky130_fd_sc.tlef",
                     "lambdapdk/sky130/libs/sky130hd/lef/sky130_fd_sc_hd_merged.lef",
                     "lambdapdk/sky130/libs/sky130hd/nldm/sky130_fd_sc_hd__tt_025C_1v80.lib.gz"]   # no GDS
    assert pdks.resolve("sky130hd", dest).library == "sky130_fd_sc_hd"
    assert [p.name for p in dest.parent.iterdir()] == ["lambdapdk"]                    # no temporary left


def test_checksum_mismatch_is_refused_and_installs_nothing(server, tmp_path):
    dest = tmp_path / "pdks" / "lambdapdk"
    res = _install(f"{server}/bad.tar.gz", dest)
    assert res.returncode == 2 and res.stderr.count("error:") == 1
    assert res.stderr.strip().splitlines()[-1].startswith("error: pdk sky130hd: lambdapdk/")
    assert "sky130/base/apr/sky130_fd_sc.tlef" in res.stderr and "differs from MANIFEST.tsv" in res.stderr
    assert list(dest.parent.iterdir()) == []


def test_interrupted_download_leaves_nothing_and_keeps_an_earlier_install(server, tmp_path):
    dest = tmp_path / "pdks" / "lambdapdk"
    assert _install(f"{server}/good.tar.gz", dest).returncode == 0
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    res = _install(f"{server}/cut.tar.gz", dest)
    assert res.returncode == 2 and "run the command again" in res.stderr
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert [p.name for p in dest.parent.iterdir()] == ["lambdapdk"]


def test_offline_error_names_both_fixes(tmp_path):
    res = _install("http://127.0.0.1:9/none.tar.gz", tmp_path / "pdks" / "lambdapdk")   # port 9: nothing listens
    err = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and err.startswith("error: pdk sky130hd: cannot download")
    assert "flow pdk install sky130hd --from DIR" in err and "--pdk-root DIR" in err
    assert not (tmp_path / "pdks" / "lambdapdk").exists()
