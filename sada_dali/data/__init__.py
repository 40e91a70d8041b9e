"""Dataset listings (ImageFolder, DALI file lists) and the batch reader of the loaders.

What lives here:

* ``source.py``: :class:`Listing` and the readers of ImageFolder trees and DALI file lists;
* ``_reader.py``: ``SampleReader``, which DALI's batch-mode ``external_source`` calls once per
  batch (``read_batch``: the encoded bytes packed in one buffer, one dense array per output);
* ``_headers.py`` and ``crop.py``: image sizes from file headers and the seeded crop windows;
* ``_shared_listing.py``: a listing in shared memory for the reader's worker processes;
* ``synthetic.py``: the demo's digits and tiny generated datasets.

It may import the backend-free root modules (``ops``) and ``_utils``, never DALI or torch;
the loader, the baseline and the CLI import it.
"""

from .source import IMG_EXTENSIONS, Listing, create_listing, list_image_folder, read_file_list

__all__ = ["IMG_EXTENSIONS", "Listing", "create_listing", "list_image_folder", "read_file_list"]
