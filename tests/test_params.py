"""stag.data.params: -p NAME VALUE pairs and the keyword arguments a dataset's loader accepts."""

import pytest

from stag.data.params import loader_params, parse_parameters


def test_parse_parameters_reads_yaml_values():
    assert parse_parameters([("n", "3"), ("flag", "true"), ("names", "[a, b]"), ("s", "dis")]) == {
        "n": 3, "flag": True, "names": ["a", "b"], "s": "dis"}
    with pytest.raises(ValueError, match="-p bad"):
        parse_parameters([("bad", "[unclosed")])


def test_loader_params_keeps_what_the_loader_takes():
    with pytest.warns(UserWarning, match="takes no --data-root"):
        params = loader_params("synthetic", data_root="/nowhere", extra={"n_subjects": 2})
    assert params == {"n_subjects": 2}
    with pytest.raises(ValueError, match="needs --data-root"):
        loader_params("casme2")
    assert loader_params("casme2", data_root="/data/CASME2")["data_root"] == "/data/CASME2"
