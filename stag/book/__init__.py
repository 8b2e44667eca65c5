"""The book pipeline: papermill executes the notebooks, Jupyter Book renders them."""
