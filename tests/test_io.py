import json
import re

import numpy as np
import pytest
import tifffile

from conftest import DATASETS
from tganaug.io import CTCFormatError, ctc_problems, read_ctc, write_ctc, write_sequence_files
from tganaug.lineage import LineageError, track_problems
from tganaug.splits import split_frames
from tganaug.utils.fsutil import OutputExistsError


def _small_video():
    labels = np.zeros((3, 16, 20), dtype=np.uint16)
    labels[:, 2:6, 2:6] = 1
    labels[1:, 10:14, 10:14] = 2
    lineage = np.array([[1, 0, 2, 0], [2, 1, 2, 0]])
    images = (np.arange(3 * 16 * 20).reshape(3, 16, 20) % 251).astype(np.uint8)
    return labels, lineage, images


@pytest.mark.parametrize("name", DATASETS)
def test_round_trip_shared_dataset(shared_data, tmp_path, name):
    original = read_ctc(shared_data / name)
    assert original.labels.dtype == np.uint16 and original.labels.ndim == 3
    assert original.images.shape == original.labels.shape
    assert track_problems(original.labels, original.lineage) == []
    out = write_ctc(tmp_path / name, original.labels, original.lineage, original.images, annotation=original.annotation)
    again = read_ctc(out)
    assert again.images.dtype == original.images.dtype
    np.testing.assert_array_equal(again.images, original.images)
    np.testing.assert_array_equal(again.labels, original.labels)
    np.testing.assert_array_equal(again.lineage, original.lineage)
    assert again.annotation == original.annotation
    assert (out / f"01_{original.annotation}" / "TRA" / "man_track.txt").read_text() == (
        shared_data / name / f"01_{original.annotation}" / "TRA" / "man_track.txt"
    ).read_text()


def test_split_reading_crops_lineage(shared_data):
    full = read_ctc(shared_data / "Fluo-N2DH-SIM+", read_images=False)
    evaluation = read_ctc(shared_data / "Fluo-N2DH-SIM+", frames="eval", read_images=False)
    assert evaluation.frames.tolist() == list(range(45, 65))
    np.testing.assert_array_equal(evaluation.labels, full.labels[45:])
    assert track_problems(evaluation.labels, evaluation.lineage) == []
    assert evaluation.lineage[:, 1].min() == 0 and evaluation.lineage[:, 2].max() == 19
    assert split_frames(shared_data / "PhC-Ecoli-vanVliet", "train") == range(0, 29)
    with pytest.raises(ValueError, match="unknown split 'test'"):
        read_ctc(shared_data / "Fluo-N2DH-GOWT1", frames="test")


def test_splits_are_per_sequence_on_the_shared_data(shared_data):
    """SIM+ and GOWT1 sequence 02 are evaluation-only (all their frames); GOWT1 01 is train only (t000-t049)."""
    sim, gowt1 = shared_data / "Fluo-N2DH-SIM+", shared_data / "Fluo-N2DH-GOWT1"
    unseen = read_ctc(sim, sequence="02", frames="eval", read_images=False)
    assert unseen.frames.tolist() == list(range(60)) and unseen.labels.shape == (60, 773, 739)
    for folder in (sim, gowt1):
        with pytest.raises(ValueError, match=f"sequence 02 of {re.escape(folder.name)} is evaluation-only"):
            read_ctc(folder, sequence="02", frames="train", read_images=False)
    assert read_ctc(gowt1, frames="train", read_images=False).frames.tolist() == list(range(50))
    with pytest.raises(ValueError, match="sequence 01 of Fluo-N2DH-GOWT1 has no 'eval' frames"):
        read_ctc(gowt1, frames="eval", read_images=False)
    assert split_frames(sim, "eval", n_frames=60, sequence="02") == range(60)
    assert split_frames(sim, "train") == range(45)  # sequence 01 by default


def test_silver_truth_is_found(shared_data):
    sequence = read_ctc(shared_data / "PhC-T98G-Usiigaci", frames=range(0, 3))
    assert sequence.annotation == "ST" and sequence.labels.shape == (3, 448, 448)


def test_write_refuses_non_empty_and_overwrites_atomically(tmp_path):
    labels, lineage, images = _small_video()
    out = tmp_path / "video"
    write_ctc(out, labels, lineage, images)
    assert sorted(p.name for p in (out / "01").iterdir()) == ["t000.tif", "t001.tif", "t002.tif"]
    with pytest.raises(OutputExistsError, match=r"not empty: it holds a CTC folder written by tganaug's write_ctc \(01, 01_GT\); "
                       r"pass overwrite=True \(--overwrite\) to replace it, which deletes everything in it"):
        write_ctc(out, labels, lineage, images)
    # A failing write with overwrite leaves the old content and no temporary folders behind.
    bad_lineage = lineage.copy()
    bad_lineage[1, 1] = 0
    with pytest.raises(LineageError, match="track 2: missing from frame 0"):
        write_ctc(out, labels, bad_lineage, images, overwrite=True)
    np.testing.assert_array_equal(read_ctc(out).labels, labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video"]
    write_ctc(out, labels[:2], np.array([[1, 0, 1, 0], [2, 1, 1, 0]]), images[:2], overwrite=True)
    assert read_ctc(out).labels.shape == (2, 16, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video"]
    file_path = tmp_path / "afile"
    file_path.write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        write_ctc(file_path, labels, lineage)


def test_write_rejects_bad_arrays(tmp_path):
    labels, lineage, images = _small_video()
    with pytest.raises(TypeError, match=r"labels are float32 with \d+ value\(s\) that are not whole ids"):
        write_ctc(tmp_path / "a", labels.astype(np.float32) * 0.5, lineage)
    with pytest.raises(TypeError, match="integer dtype"):
        write_ctc(tmp_path / "a", labels.astype(np.complex64), lineage)
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        write_ctc(tmp_path / "b", labels[0], lineage)
    with pytest.raises(ValueError, match="empty video"):
        write_ctc(tmp_path / "c", labels[:0], lineage)
    with pytest.raises(ValueError, match="NaN or Inf"):
        write_ctc(tmp_path / "d", labels, lineage, np.full(labels.shape, np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="need a lineage"):
        write_ctc(tmp_path / "e", labels)
    with pytest.raises(ValueError, match="same shape"):
        write_ctc(tmp_path / "f", labels, lineage, images[:, :8])
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_missing_files(tmp_path):
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    tra = out / "01_GT" / "TRA"
    (tra / "man_track001.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(CTCFormatError, match=r"cannot read TIFF .*man_track001.tif"):
        read_ctc(out)
    report = ctc_problems(out)
    assert list(report) == ["01"] and "man_track001.tif" in report["01"][0]
    tifffile.imwrite(tra / "man_track001.tif", labels[1])
    data = (out / "01" / "t002.tif").read_bytes()
    (out / "01" / "t002.tif").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CTCFormatError, match="cannot read TIFF .*t002.tif"):
        read_ctc(out)
    assert read_ctc(out, read_images=False).labels.shape == (3, 16, 20)
    (tra / "man_track.txt").unlink()
    with pytest.raises(FileNotFoundError, match="lineage file not found"):
        read_ctc(out, read_images=False)
    with pytest.raises(CTCFormatError, match="not a folder"):
        read_ctc(tmp_path / "nowhere")
    with pytest.raises(CTCFormatError, match="no annotation folder 02_GT or 02_ST"):
        read_ctc(out, sequence="02", read_images=False)


def test_a_missing_frame_is_named(tmp_path):
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    (out / "01_GT" / "TRA" / "man_track001.tif").unlink()
    with pytest.raises(CTCFormatError, match=r"01_GT/TRA lacks 1 of frames 0..2: 1$"):
        read_ctc(out, read_images=False)
    (out / "01" / "t001.tif").unlink()
    (out / "01" / "t000.tif").unlink()
    with pytest.raises(CTCFormatError, match=r"01 lacks 2 of frames 0..2: 0, 1$"):
        read_ctc(out, read_labels=False)


def test_ctc_problems_reports_inconsistent_lineage(tmp_path):
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    (out / "01_GT" / "TRA" / "man_track.txt").write_text("1 0 2 0\n2 0 2 0\n")
    assert ctc_problems(out) == {"01": ["track 2: missing from frame 0 (1 frame(s) missing; lineage says 0..2)"]}


def test_ctc_problems_reports_a_parent_missing_from_the_lineage(tmp_path):
    """Reading all frames must not crop a dangling parent away before validation sees it."""
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    (out / "01_GT" / "TRA" / "man_track.txt").write_text("1 0 2 0\n2 1 2 99\n")
    assert ctc_problems(out) == {"01": ["track 2: parent 99 is not in the lineage"]}
    assert read_ctc(out).lineage.tolist() == [[1, 0, 2, 0], [2, 1, 2, 99]]


def test_ctc_problems_reports_a_truncated_sequence(tmp_path):
    """The last frame lost (lineage says 0..2): reading all frames must not crop the spans to fit the files."""
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    (out / "01_GT" / "TRA" / "man_track002.tif").unlink()
    (out / "01" / "t002.tif").unlink()
    assert ctc_problems(out) == {"01": [f"track {i}: frames {s}..2 outside the video's 0..1" for i, s in ((1, 0), (2, 1))]}
    assert read_ctc(out, frames=[0]).lineage.tolist() == [[1, 0, 0, 0]]  # some frames asked for: cropped to them


def test_labels_outside_uint16_or_of_another_size_are_named(tmp_path):
    labels, lineage, images = _small_video()
    out = write_ctc(tmp_path / "video", labels, lineage, images)
    frame = out / "01_GT" / "TRA" / "man_track000.tif"
    tifffile.imwrite(frame, np.full((16, 20), 70000, np.int32))  # would wrap to 4464 as uint16
    with pytest.raises(CTCFormatError, match=r"man_track000.tif: label ids 70000..70000 outside 0..65535"):
        read_ctc(out)
    tifffile.imwrite(frame, np.full((16, 20), -1, np.int16))
    with pytest.raises(CTCFormatError, match=r"man_track000.tif: label ids -1..-1 outside 0..65535"):
        read_ctc(out)
    tifffile.imwrite(frame, np.zeros((10, 10), np.uint16))
    with pytest.raises(CTCFormatError, match=r"man_track000.tif: frame of shape \(10, 10\) differs"):
        read_ctc(out, read_images=False)
    assert "man_track000.tif: frame of shape (10, 10)" in ctc_problems(out)["01"][0]


def test_atomic_write_csv_round_trip_and_keeps_old_file_on_error(tmp_path):
    import csv

    from tganaug.utils.fsutil import atomic_write_csv

    path = tmp_path / "table.csv"
    rows = [{"dataset": "a", "value": 0.25}, {"dataset": "b,c", "value": float("nan")}]
    atomic_write_csv(path, rows, ["dataset", "value"])
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert read == [{"dataset": "a", "value": "0.25"}, {"dataset": "b,c", "value": "nan"}]
    before = path.read_bytes()
    with pytest.raises(ValueError):  # a key that is not a column: nothing is written, the old file stays
        atomic_write_csv(path, [{"dataset": "x", "other": 1}], ["dataset", "value"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ('{"train": [5]}', r"split 'train' must be \[first, last\]"),
        ('{"train": [9, 2]}', "0 <= first <= last"),
        ("{train: 1}", "is not valid JSON"),
    ],
)
def test_bad_splits_file_is_named(tmp_path, text, message):
    (tmp_path / "splits.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        split_frames(tmp_path, "train")


def test_splits_file_round_trip(tmp_path):
    (tmp_path / "splits.json").write_text('{"train": [0, 3], "eval": null}')
    assert split_frames(tmp_path, "train") == range(0, 4)
    with pytest.raises(ValueError, match="has no 'eval' frames"):
        split_frames(tmp_path, "eval")
    # the flat form is sequence 01 only: another sequence is never given 01's frames
    with pytest.raises(ValueError, match=r"no train/eval split known for sequence 02 of dataset .* declares sequence\(s\) 01\).*"
                       r"declare it in .*splits.json as \{\"02\""):
        split_frames(tmp_path, "train", sequence="02")


def _long_video(n: int = 6):
    labels = np.zeros((n, 16, 20), dtype=np.uint16)
    labels[:, 2:6, 2:6] = 1
    return labels, np.array([[1, 0, n - 1, 0]]), (labels * 100).astype(np.uint16)


def test_per_sequence_splits_file(tmp_path):
    labels, lineage, images = _long_video()
    for sequence in ("01", "02"):
        write_sequence_files(tmp_path, labels, lineage, images, sequence=sequence)
    n = len(labels)
    (tmp_path / "splits.json").write_text(json.dumps({"01": {"train": [0, 2], "eval": [3, n - 1]}, "02": {"train": None, "eval": "all"}}))
    assert read_ctc(tmp_path, "01", frames="train").frames.tolist() == [0, 1, 2]
    assert read_ctc(tmp_path, "02", frames="eval").frames.tolist() == list(range(n))
    with pytest.raises(ValueError, match="sequence 02 of .* is evaluation-only"):
        read_ctc(tmp_path, "02", frames="train")
    assert read_ctc(tmp_path, "02", frames="all").frames.tolist() == list(range(n))  # "all" needs no split
    with pytest.raises(ValueError, match="split 'all' needs the number of frames|every frame: give the number of frames"):
        split_frames(tmp_path, "eval", sequence="02")
    # a split beyond the frames present names the file, the sequence and the frames
    (tmp_path / "splits.json").write_text(json.dumps({"01": {"train": [0, 2], "eval": [3, n + 4]}}))
    with pytest.raises(ValueError, match=rf"splits.json gives sequence 01 of {tmp_path.name} the eval frames 3..{n + 4}, but the "
                       rf"sequence has frames 0..{n - 1}: frames {n}..{n + 4} are not present"):
        read_ctc(tmp_path, "01", frames="eval")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"01": {"train": [0, 2]}, "train": [0, 1]}', "mixes sequence names and split names"),
        ('{"01": [0, 2]}', "sequence 01 must map to"),
        ('{"01": {"test": [0, 2]}}', "unknown split\\(s\\) 'test'"),
        ('{"02": {"eval": "some"}}', "sequence 02 split 'eval' must be"),
    ],
)
def test_bad_per_sequence_splits_file_is_named(tmp_path, text, message):
    (tmp_path / "splits.json").write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        split_frames(tmp_path, "eval", n_frames=5, sequence="02")
    assert str(tmp_path / "splits.json") in str(error.value)


def test_missing_sequence_errors_name_what_is_present(tmp_path):
    from tganaug.io import find_sequences

    labels, lineage, images = _small_video()
    write_sequence_files(tmp_path, labels, lineage, images, sequence="02")
    with pytest.raises(ValueError, match=r"no annotation folder 01_GT or 01_ST/TRA \(sequences present: 02 \(raw, GT\)\)"):
        read_ctc(tmp_path, "01", read_images=False)
    assert find_sequences(tmp_path, annotated=True) == ["02"]
    with pytest.raises(ValueError, match=r"sequence 03 not found with raw frames .* \(sequences present: 02 \(raw, GT\)\)"):
        find_sequences(tmp_path, "03", raw=True)
    with pytest.raises(ValueError, match=r"frame\(s\) \[3, 4\] of sequence 02 requested but not present \(it has frames 0\.\.2\)"):
        read_ctc(tmp_path, "02", frames=range(2, 5))


def test_atomic_directory_puts_the_old_content_back_when_the_swap_fails(tmp_path, monkeypatch):
    import os

    from tganaug.utils import fsutil

    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("user data")
    with pytest.raises(fsutil.OutputExistsError, match=r"holds old.txt \(1 entry\) that tganaug did not write there"):
        with fsutil.atomic_directory(target, overwrite=True) as staging:
            (staging / "new.txt").write_text("new")
    assert (target / "old.txt").read_text() == "user data"  # a folder tganaug did not make is never replaced
    kind = fsutil.OutputKind("notes", ("*.txt",), "notes")
    fsutil.write_output_record(target, kind)  # now it is one: replaceable
    real_rename = os.rename

    def failing_swap(source, destination):
        if ".tmp-" in str(source):  # staging -> target: as if another process put a folder there meanwhile
            raise OSError(39, "Directory not empty")
        return real_rename(source, destination)

    monkeypatch.setattr(fsutil.os, "rename", failing_swap)
    with pytest.raises(OSError, match="Directory not empty"):
        with fsutil.atomic_directory(target, overwrite=True, kind=kind) as staging:
            (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old-content folder left
    assert (target / "old.txt").read_text() == "user data"
    monkeypatch.undo()
    with pytest.raises(fsutil.OutputExistsError, match="not empty"):
        with fsutil.atomic_directory(target) as staging:
            pass
