"""Sleep probabilities from a trained model over a design (`training.sleep_probabilities`)."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.roomdb.ml.clr import ClrArtifact, predict_proba
from custom_components.roomdb.ml.features import FEATURE_SET_VERSION, HOME_ROOM_ID
from custom_components.roomdb.ml.pairing import CONTEXT_WINDOWS, build_design, design_columns
from custom_components.roomdb.ml.training import sleep_probabilities

from .test_pairing import DAY0, W, row

ROOMS = (HOME_ROOM_ID, "office")


def model() -> ClrArtifact:
    """Movement in the office means awake; every other column is ignored."""
    names = design_columns(ROOMS)
    coef = [0.0] * len(names)
    mean = [0.0] * len(names)
    coef[names.index("office.motion")] = -3.0
    mean[names.index("office.motion")] = 0.5
    return ClrArtifact(
        feature_names=names,
        feature_set_version=FEATURE_SET_VERSION,
        coef=tuple(coef),
        intercept=0.0,
        scaler_mean=tuple(mean),
        scaler_scale=(1.0,) * len(names),
        calibration_a=-1.0,
        calibration_b=0.0,
        c=1.0,
        n_rows=1,
        n_nights=1,
    )


def test_a_room_with_a_flat_sensor_says_nothing_and_an_away_window_is_awake() -> None:
    flat, away, n = 20, 50, 60
    rows = []
    for k in range(n):
        start = DAY0 + k * W
        values = {"away_fraction": 1.0} if k == away else {}
        rows.append(row(HOME_ROOM_ID, start, **values))
        # The office is quiet all along (no motion); its sensor was flat in one window.
        rows.append(row("office", start, unavailable_fraction=1.0 if k == flat else 0.0))
    design = build_design(rows, ROOMS)
    artifact = model()
    probability = sleep_probabilities(artifact, design)
    as_mean = predict_proba(artifact, np.asarray([artifact.scaler_mean]))[0]
    quiet_office = predict_proba(artifact, design.x[:1])[0]
    assert quiet_office > 0.8  # a quiet office reads as asleep to this model...
    blind = range(flat, flat + CONTEXT_WINDOWS + 1)
    # ...but not while its sensor was flat, or in the four hours after: it says nothing then.
    assert probability[list(blind)] == pytest.approx([as_mean] * len(blind))
    assert as_mean == pytest.approx(0.5)
    seen = [k for k in range(n) if k not in blind and k != away]
    assert probability[seen] == pytest.approx([quiet_office] * len(seen))
    assert probability[away] == 0.0
    # No window, no probability.
    empty = build_design([], ROOMS)
    assert sleep_probabilities(artifact, empty).shape == (0,)
