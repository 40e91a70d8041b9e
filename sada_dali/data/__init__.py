"""Dataset listings (ImageFolder, DALI file lists) and the per-sample reader of the loaders."""

from .source import IMG_EXTENSIONS, Listing, create_listing, list_image_folder, read_file_list

__all__ = ["IMG_EXTENSIONS", "Listing", "create_listing", "list_image_folder", "read_file_list"]
