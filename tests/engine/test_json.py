"""The JSON report: every documented field is there, with its type, and nothing undocumented."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import resumecheck as rc
from resumecheck.cli import main
from resumecheck.engine.evidence import Evidence, ordered
from resumecheck.engine.report import JSON_SCHEMA_VERSION
from tests.engine import jobs

DOC = Path(__file__).parents[2] / "docs" / "json.md"


def documented(section: str) -> list[str]:
    """The field names of one table of docs/json.md."""
    text = DOC.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", text, re.M)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("json")
    job = jobs.plain_job(dropout=0.5, save_rng=False)
    report = rc.check(job, kills=[3, [2, 6]], seed=7, artifacts_dir=tmp)
    out = report.to_dict(lambda plans: f"replay {plans}")
    return json.loads(json.dumps(out))


def test_the_report_fields_are_the_documented_ones(data: dict[str, Any]) -> None:
    assert list(data) == documented("The report")
    assert data["schema"] == JSON_SCHEMA_VERSION == 1
    assert data["summary"] == "2 of 2 plans diverged (RNG)"
    assert list(data["reproduce"]) == documented("`reproduce`")


def test_each_divergence_carries_kind_rows_hint_and_both_reproduce_forms(
    data: dict[str, Any],
) -> None:
    first, second = data["divergences"]
    assert list(first) == documented("A divergence")
    assert first["kind"] == "RNG"
    assert first["hint"] == rc.Kind.RNG.hint
    assert first["reproduce"] == {
        "command": "replay [(3,)]",
        "python": 'rc.check(job, kills=[3], mode="exception")',
        "kills": "[3]",
    }
    assert second["reproduce"]["python"] == 'rc.check(job, kills=[[2, 6]], mode="exception")'
    for row in first["evidence"]:
        assert list(row) == documented("An evidence row")


def test_evidence_rows_are_fields_and_the_rng_ones_come_first(data: dict[str, Any]) -> None:
    rows = data["divergences"][0]["evidence"]
    assert [r["category"] for r in rows[:2]] == ["rng", "loss"]
    assert rows[0]["key"] == "rng.torch"
    assert rows[1]["resumed"] != rows[1]["reference"]
    weights = [r for r in rows if r["category"] == "weights"]
    assert weights
    for row in weights:
        assert row["dtype"] == "float32"
        assert row["max_abs_diff"] > 0
        assert 0 < row["count"] <= row["numel"] == _numel(row["shape"])
        assert row["text"].startswith(row["key"])


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def test_rows_that_explain_the_kind_come_first_and_the_rest_keep_their_order() -> None:
    rows = [
        Evidence("param.a", "weights"),
        Evidence("optim.0", "optimizer"),
        Evidence("loss", "loss", resumed=1.0, reference=2.0),
        Evidence("rng.torch", "rng"),
        Evidence.note("killed run: by signal"),
    ]
    got = [r.key or r.detail for r in ordered(rows, "RNG")]
    assert got == ["rng.torch", "loss", "param.a", "optim.0", "killed run: by signal"]
    assert ordered(rows, "OPTIMIZER")[0].key == "optim.0"


def test_the_text_report_caps_rows_and_names_the_rest() -> None:
    rows = tuple(Evidence(f"param.w{i}", "weights", "float32", (2,), 0.5, 1, 2) for i in range(14))
    div = rc.Divergence(rc.Kind.WEIGHTS, 3, 3, 4, "14 weight tensors differ", rows)
    text = str(rc.Report("job", "exception", 0, ((3,),), 12, (div,)))
    assert "    param.w9 " in text
    assert "param.w10 " not in text
    assert "    … 4 more" in text
    assert len(div.to_dict()["evidence"]) == 14  # JSON keeps every row


def test_cli_json_has_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "myjobs.py"
    path.write_text(
        "from tests.engine import jobs\n\n"
        "def no_rng():\n    return jobs.plain_job(dropout=0.5, save_rng=False)\n"
    )
    args = ["check", f"{path}::no_rng", "--kills", "[4]", "--seed", "0", "--format", "json"]
    assert main([*args, "--artifacts-dir", str(tmp_path / "art")]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    command = data["divergences"][0]["reproduce"]["command"]
    assert command == f"resumecheck check {path}::no_rng --kills '[4]' --mode exception"
    assert data["reproduce"]["command"] == command
    assert "1 of 1 plan diverged (RNG)" in err


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_diverging_plan_leaves_a_picture_named_in_text_and_json(
    data: dict[str, Any],
) -> None:
    pictures = [d["picture"] for d in data["divergences"]]
    assert [Path(p).parent.name for p in pictures] == ["plan-3", "plan-2-6"]
    for path in pictures:
        assert Path(path).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
def test_pictures_drawn_beside_process_runs_are_all_there(tmp_path: Path) -> None:
    # In process modes pictures are drawn on a thread while the next plan runs: the report
    # still waits for each one and names it.
    job = jobs.plain_job(dropout=0.5, save_rng=False)
    report = rc.check(job, kills=[3, 5, [2, 6]], mode="sigkill", seed=0, artifacts_dir=tmp_path)
    pictures = [Path(str(d.picture)) for d in report.divergences]
    assert [p.parent.name for p in pictures] == ["plan-3", "plan-5", "plan-2-6"]
    for path in pictures:
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert not any("no picture" in w for w in report.warnings)


def test_the_text_report_names_the_picture(tmp_path: Path) -> None:
    job = jobs.plain_job(dropout=0.5, save_rng=False)
    report = rc.check(job, kills=[[2, 6]], seed=0, artifacts_dir=tmp_path)
    (div,) = report.divergences
    assert div.picture is not None
    assert f"  picture: {div.picture}" in str(report)


def test_the_picture_series_follow_the_runs(tmp_path: Path) -> None:
    from resumecheck.engine.harness import CheckSession, make_runner

    session = CheckSession(
        jobs.plain_job(dropout=0.5, save_rng=False), make_runner("exception"), tmp_path
    )
    session.prepare()
    verdict = session.try_plan((2, 6))
    assert verdict.divergence is not None
    data = session._pictures[(2, 6)]
    assert data.reference.steps == list(range(1, 13))
    killed, first, second = data.runs
    assert killed.steps == [1, 2]
    assert killed.distance == [0.0, 0.0]
    assert first.steps == [3, 4, 5, 6]
    assert all(d is not None and d > 0 for d in first.distance)
    assert second.steps[0] == 7
    assert data.kills == [2, 6]
    assert data.resumes == [2, 6]
    assert data.first == 3


def test_a_large_model_picture_shows_only_equal_or_different(tmp_path: Path) -> None:
    from resumecheck.engine.picture import PictureData, Series, draw

    ref = Series("reference", [1, 2, 3, 4], [1.0, 0.9, 0.8, 0.7], [0.0] * 4, [False] * 4)
    killed = Series("killed run", [1, 2], [1.0, 0.9], [None, None], [False, False])
    resumed = Series("resumed run 1", [3, 4], [0.85, None], [None, None], [True, True])
    data = PictureData("RNG at step 3, kill plan [2]", ref, [killed, resumed], [2], [2], 3)
    assert not data.distances_known
    path = draw(data, tmp_path / "p.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("background", [True, False])
def test_a_picture_that_cannot_be_drawn_gives_its_error(tmp_path: Path, background: bool) -> None:
    from resumecheck.engine.picture import Painter, PictureData, Series

    ref = Series("reference", [1, 2], [1.0, 0.9], [0.0, 0.0], [False, False])
    data = PictureData("RNG at step 2, kill plan [1]", ref, [], [1], [1], 2)
    painter = Painter(background)
    drawn = painter.draw(data, tmp_path / "missing" / "p.png")
    painter.close()
    assert isinstance(drawn(), FileNotFoundError)


def test_a_sheet_draws_each_picture_as_a_new_figure_would(tmp_path: Path) -> None:
    # Pictures drawn one after another on one sheet (a check's painter) match, pixel for pixel,
    # the same pictures drawn alone: nothing of the picture before stays behind.
    from matplotlib.image import imread

    from resumecheck.engine.picture import PictureData, Series, Sheet, draw

    def picture(kills: list[int], known: bool, loss: bool = True) -> PictureData:
        steps = list(range(1, 13))
        losses = [1 / s if loss else None for s in steps]
        ref = Series("reference", steps, losses, [0.0] * 12, [False] * 12)
        runs, start = [], 0
        for n, end in enumerate([*kills, 12]):
            part = list(range(start + 1, end + 1))
            distance = [10.0 ** -(s % 7) if n and known else (0.0 if known else None) for s in part]
            runs.append(
                Series(f"run {n}", part, [1.1 / s for s in part], distance, [n > 0] * len(part))
            )
            start = end
        title = f"RNG at step {kills[0] + 1}, kill plan {kills}"
        return PictureData(title, ref, runs, kills, kills, kills[0] + 1)

    pictures = [picture([3, 8], True), picture([5], False), picture([2], True, loss=False)]
    sheet = Sheet()
    for n, data in enumerate(pictures):
        assert data.distances_known == (n != 1)
        alone = imread(draw(data, tmp_path / f"alone-{n}.png"))
        shared = imread(sheet.draw(data, tmp_path / f"sheet-{n}.png"))
        assert sheet.bottom.get_yscale() == ("symlog" if data.distances_known else "linear")
        assert alone.shape == shared.shape
        assert (alone == shared).all(), f"picture {n} differs when drawn on a used sheet"
