"""Dataset listings (ImageFolder, DALI file lists, WebDataset tar shards) and the batch reader.

What lives here:

* ``listing.py``: :class:`Listing`, the files, labels and sample indices of a dataset;
* ``source.py``: the readers of ImageFolder trees and DALI file lists, and ``create_listing``;
* ``_reader.py``: ``SampleReader``, which DALI's batch-mode ``external_source`` calls once per
  batch, and ``_packing.py``, which packs a batch into what it returns (the encoded bytes in one
  buffer, every other output in two dense arrays);
* ``_inspect.py``: the check every file passes before DALI sees it (the reader's and the doctor's);
* ``_headers.py`` and ``crop.py``: image sizes from file headers and the seeded crop windows;
* ``formats.py``: the accepted image formats and the check each file passes before DALI sees it;
  ``_jpeg.py``, ``_png.py``, ``_bmp.py``, ``_tiff.py``, ``_webp.py`` and ``_pnm.py``: the
  structural and mode checks of each format;
* ``_shared_listing.py``: a listing in shared memory for the reader's worker processes;
* ``_check_cache.py``: which files passed the checks, and in which version, so that an unchanged
  file is not checked again;
* WebDataset tar shards (a shard is a ``.tar`` file here, not a rank's share of an epoch):
  ``_tar_shards.py`` (which shards a ``source`` names, and their listing), ``_tar_index.py``
  (one shard's samples from its headers), ``_tar_cache.py`` (the cached index of a set of
  shards), ``_tar_files.py`` (the open shard files of a process) and ``_tar_writer.py``
  (packing samples into shards);
* ``doctor.py``: the dataset doctor behind ``sada-dali check``;
* ``synthetic.py``: the demo's digits and tiny generated datasets.

It may import the backend-free root modules (``op_space``) and ``_utils``, never DALI or torch;
the loader, the baseline and the CLI import it.
"""

from .listing import Listing
from .source import IMG_EXTENSIONS, create_listing, list_image_folder, read_file_list

__all__ = ["IMG_EXTENSIONS", "Listing", "create_listing", "list_image_folder", "read_file_list"]
