"""The ``sada-dali`` command: ``demo``, ``train`` and ``bench`` (``main.py`` dispatches).

What lives here: one module per subcommand, the training loops they share (``_loop.py``), their
argument types (``_args.py``), the benchmark's rows (``_bench_rows.py``), the models and the
plots. It is the top layer: it may import anything of sada-dali, and nothing imports it.
"""
