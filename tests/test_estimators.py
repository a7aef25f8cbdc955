"""Estimators follow scikit-learn's conventions: clone, get/set_params, fitted attributes."""

import pytest
import sklearn

import salesanalytics as sa

ESTIMATORS = [
    sa.StageProbabilityModel(by="channel", min_count=20),
    sa.ConfiguredProbabilities(),
    sa.GlobalWinRate(),
    sa.EmpiricalStageRate(),
    sa.NaiveBayesOdoo(smoothing=0.5),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_keeps_the_parameters_and_fits_alike(est, sample_ds):
    twin = sklearn.clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    a = est.fit(sample_ds, as_of="2025-12-31")
    b = twin.fit(sample_ds, as_of="2025-12-31")
    deals = sa.pipeline_as_of(sample_ds, "2025-12-31").head(50)
    assert a.predict_proba(deals).tolist() == b.predict_proba(deals).tolist()
    params = set(est.get_params())
    learned = [k for k in vars(a) if k not in params and not k.startswith("_")]
    assert learned and all(k.endswith("_") for k in learned), learned


def test_set_params_and_unknown_parameter():
    m = sa.StageProbabilityModel().set_params(by="owner", min_count=5)
    assert (m.by, m.min_count) == ("owner", 5)
    assert repr(m) == "StageProbabilityModel(by='owner', min_count=5)"
    with pytest.raises(ValueError, match="invalid parameter 'bye'"):
        m.set_params(bye="channel")
