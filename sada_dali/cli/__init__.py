"""The ``sada-dali`` command: ``demo``, ``train``, ``bench``, ``check`` and ``shards``.

What lives here:

* ``main.py``: the parser and the dispatch to the subcommand modules (``SUBCOMMANDS``);
* one module per subcommand: ``demo.py``, ``train.py``, ``bench.py``, ``check.py``, ``shards.py``;
* what they share: the training and evaluation loops (``_loop.py``), the strength policies
  (``_policy.py``), argument types (``_args.py``), the models (``models.py``) and the figures
  (``plots.py``);
* the benchmark's parts: its data (``_bench_data.py``), rows (``_bench_rows.py``, and
  ``_bench_native.py`` for native DALI), timing (``_bench_timing.py``) and report
  (``_bench_report.py``).

It is the top layer: it may import anything of sada-dali, and nothing imports it.
"""
