"""Dataset listings (ImageFolder, file lists) and the reader's cheap integrity check."""

import os

import numpy as np
import pytest
from _images import truncate_file, write_image, write_image_folder

from sada_dali.data._inspect import check_encoded
from sada_dali.data.source import create_listing, list_image_folder, read_file_list


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    write_image_folder(root, num_classes=3, per_class=3, sizes=(8, 12))
    write_image(root / "b_class" / "nested" / "deep.png", 8, 8, fmt="PNG")
    write_image(root / "b_class" / "UPPER.JPG", 8, 8)
    (root / "b_class" / "notes.txt").write_text("not an image")
    return root


def _torchvision_image_folder(root):
    try:
        from torchvision.datasets import ImageFolder
    except Exception as exc:  # a broken torchvision build must not hide the other tests
        pytest.skip(f"torchvision cannot be imported here: {exc}")
    return ImageFolder(str(root))


def test_image_folder_listing_matches_torchvision(folder):
    listing = list_image_folder(folder)
    reference = _torchvision_image_folder(folder)
    assert list(listing.classes) == reference.classes
    assert [(path, int(label)) for path, label in zip(listing.files, listing.labels)] == reference.samples


def test_image_folder_sorts_classes_walks_subfolders_and_filters_extensions(folder):
    listing = list_image_folder(folder)
    assert listing.classes == ("b_class", "class_0", "class_1", "class_2")
    b_files = [os.path.relpath(f, folder) for f, y in zip(listing.files, listing.labels) if y == 0]
    assert b_files == [os.path.join("b_class", "UPPER.JPG"), os.path.join("b_class", "nested", "deep.png")]
    for path, label in zip(listing.files, listing.labels):
        assert os.path.relpath(path, folder).split(os.sep)[0] == listing.classes[label]
    assert listing.labels.dtype == np.int64 and len(listing) == 11


def test_file_list_keeps_line_order_labels_and_paths_with_spaces(tmp_path):
    write_image(tmp_path / "imgs" / "a b.jpg", 8, 8)
    write_image(tmp_path / "imgs" / "c.jpg", 8, 8)
    list_path = tmp_path / "list.txt"
    list_path.write_text("imgs/c.jpg 4\n\nimgs/a b.jpg 1\n")
    listing = create_listing(list_path, file_root=tmp_path)
    assert listing.files == (str(tmp_path / "imgs" / "c.jpg"), str(tmp_path / "imgs" / "a b.jpg"))
    assert listing.labels.tolist() == [4, 1]
    assert listing.classes == ("0", "1", "2", "3", "4")


def test_listing_rejects_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_listing(tmp_path / "nope")


def test_listing_rejects_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no class folder"):
        create_listing(tmp_path)


def test_listing_rejects_class_folder_without_images(tmp_path):
    write_image(tmp_path / "full" / "x.jpg", 8, 8)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="without images: empty"):
        create_listing(tmp_path)


def test_file_list_needs_file_root(tmp_path):
    (tmp_path / "list.txt").write_text("a.jpg 0\n")
    with pytest.raises(ValueError, match="needs `file_root=`"):
        create_listing(tmp_path / "list.txt")


def test_folder_source_rejects_file_root(tmp_path):
    with pytest.raises(ValueError, match="applies only to a file list"):
        create_listing(tmp_path, file_root=tmp_path)


def test_file_list_rejects_bad_line_naming_it(tmp_path):
    (tmp_path / "list.txt").write_text("a.jpg 0\nb.jpg cat\n")
    with pytest.raises(ValueError, match=r"line 2 .*'b.jpg cat'"):
        read_file_list(tmp_path / "list.txt", tmp_path)


def test_file_list_rejects_missing_list_empty_list_and_missing_file_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="file list .* does not exist"):
        read_file_list(tmp_path / "missing.txt", tmp_path)
    (tmp_path / "list.txt").write_text("\n\n")
    with pytest.raises(FileNotFoundError, match="has no entry"):
        read_file_list(tmp_path / "list.txt", tmp_path)
    with pytest.raises(FileNotFoundError, match="`file_root` .* does not exist"):
        read_file_list(tmp_path / "list.txt", tmp_path / "nope")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        read_file_list(tmp_path / "list.txt", tmp_path / "list.txt")


@pytest.mark.parametrize(
    "mode,fmt",
    [
        ("RGB", "JPEG"),
        ("L", "JPEG"),
        ("CMYK", "JPEG"),
        ("RGB", "PNG"),
        ("RGB", "BMP"),
        ("RGB", "TIFF"),
        ("RGB", "WEBP"),
    ],
)
def test_check_encoded_accepts_whole_images(tmp_path, mode, fmt):
    path = write_image(tmp_path / f"x.{fmt.lower()}", 16, 16, mode=mode, fmt=fmt)
    assert check_encoded(open(path, "rb").read()) is None


@pytest.mark.parametrize(
    "fmt,problem", [("JPEG", "truncated JPEG"), ("PNG", "truncated PNG"), ("WEBP", "truncated WebP")]
)
def test_check_encoded_flags_truncated_images(tmp_path, fmt, problem):
    path = truncate_file(write_image(tmp_path / "x.img", 32, 32, fmt=fmt), keep=0.6)
    assert problem in check_encoded(open(path, "rb").read())


def test_check_encoded_flags_empty_and_unknown_data():
    assert "empty or truncated" in check_encoded(b"")
    assert "not a JPEG" in check_encoded(b"<html>not an image</html>")
