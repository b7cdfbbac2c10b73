"""Chapter 10 diagnostics: histories, the two-panel plot, and the failure detectors on constructed histories
(shaped like the book's runs A-D and the chapter 9 crash) and on small runs built to fail the same ways."""
import os
import warnings

import numpy as np
import pytest

from tinygan.training.diagnostics import (BCE_CEILING, GANFailureWarning, History, TrainingMonitor, autocorrelation,
                                          detect_convergence_failure, detect_mode_collapse, detect_oscillation,
                                          duplicate_share, oscillation_period, plot_history, plot_history_combined,
                                          sample_diversity, save_history, summarize)

N = 450   # the book's chapter 10 runs: 10 epochs x 45 batches


def _ar(n, rho, sigma, rng):
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = rho * e[i - 1] + rng.normal(0, sigma)
    return e


def run_a_stable(seed=0, n=N):
    """Run A: erratic first, then d ~ 0.5-0.7, g ~ 1-1.5, accuracies ~ 70-80% (L13632-13720)."""
    rng = np.random.default_rng(seed)
    warm = np.exp(-np.arange(n) / 30.0)
    return dict(d1=np.clip(0.58 + _ar(n, 0.7, 0.07, rng) - 0.4 * warm, 0.02, None),
                d2=np.clip(0.58 + _ar(n, 0.7, 0.07, rng) + 0.8 * warm, 0.02, None),
                g=np.clip(1.2 + _ar(n, 0.8, 0.12, rng) - 0.5 * warm, 0.1, None),
                a1=np.clip(0.76 + rng.normal(0, 0.1, n), 0, 1), a2=np.clip(0.74 + rng.normal(0, 0.12, n), 0, 1))


def run_b_collapse(seed=0, n=N, period=25):
    """Run B (latent_dim 1): D losses sensible, G loss oscillating with a period of about 25, fake accuracy ~100%."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wave = np.maximum(0.0, np.sin(2 * np.pi * t / period))
    return dict(d1=np.clip(0.28 + rng.normal(0, 0.05, n), 0.01, None),
                d2=np.clip(0.30 + 0.1 * wave + rng.normal(0, 0.05, n), 0.01, None),
                g=np.clip(0.7 + 0.6 * wave + rng.normal(0, 0.08, n), 0.05, None),
                a1=np.clip(0.92 + rng.normal(0, 0.04, n), 0, 1), a2=np.clip(0.98 + rng.normal(0, 0.02, n), 0, 1))


def run_c_combined(seed=0, n=N):
    """Run C (one combined D batch): d and g both fall towards zero within 20-30 steps and stay; a = 100%."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return dict(d=0.5 * np.exp(-t / 6.0) + np.abs(rng.normal(0, 2e-4, n)),
                g=0.9 * np.exp(-t / 8.0) + 0.001 + np.abs(rng.normal(0, 2e-4, n)),
                a=np.where(t < 4, 0.8, 1.0))


def run_d_aggressive_adam(seed=0, n=N):
    """Run D (default Adam): d1, d2 ~ 0 from step 2, g rising to ~10.4, accuracies 100%."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return dict(d1=np.abs(rng.normal(0, 3e-4, n)) + np.where(t < 1, 0.7, 0.0),
                d2=np.abs(rng.normal(0, 3e-4, n)) + np.where(t < 5, 0.8, 0.0),
                g=0.6 + 9.8 * np.log1p(t) / np.log1p(n - 1) + rng.normal(0, 0.01, n),
                a1=np.ones(n), a2=np.where(t < 5, 0.5, 1.0))


def ch9_crash(n=200):
    """Chapter 9's failure: d1=0.000, d2=15.942 g=0.000 from some step on."""
    t = np.arange(n)
    healthy = t < 60
    return dict(d1=np.where(healthy, 0.5, 0.0), d2=np.where(healthy, 0.6, BCE_CEILING),
                g=np.where(healthy, 1.5, 0.0), a1=np.where(healthy, 0.8, 1.0), a2=np.where(healthy, 0.8, 0.0))


# ------------------------------------------------------------------------------------------- constructed runs
@pytest.mark.parametrize("seed", range(4))
def test_stable_run_raises_nothing_and_reads_stable(seed):
    h = History(**run_a_stable(seed))
    assert detect_convergence_failure(h) is None
    assert detect_oscillation(h) is None
    assert summarize(h)["verdict"] == "stable"


@pytest.mark.parametrize("seed", range(4))
def test_mode_collapse_run_oscillates_with_the_books_period(seed):
    h = History(**run_b_collapse(seed))
    assert detect_convergence_failure(h) is None
    f = detect_oscillation(h)
    assert f is not None and f.kind == "oscillation"
    assert 22 <= f.details["period"] <= 28
    assert "accuracy on fakes stays high" in f.message
    assert summarize(h)["verdict"] == "oscillating"


@pytest.mark.parametrize("period", [12, 25, 40])
def test_oscillation_period_is_recovered(period):
    t = np.arange(450)
    x = np.sin(2 * np.pi * t / period) + np.random.default_rng(0).normal(0, 0.3, 450)
    p, strength = oscillation_period(x)
    assert abs(p - period) <= 1 and strength > 0.3


def test_noise_has_no_period():
    rng = np.random.default_rng(1)
    for _ in range(5):
        assert oscillation_period(rng.normal(size=300))[0] is None
        assert oscillation_period(np.cumsum(rng.normal(size=300)))[0] is None    # a random walk drifts, no cycle


def test_autocorrelation_basics():
    acf = autocorrelation(np.sin(np.arange(200) * 2 * np.pi / 20), 40)
    assert acf[0] == pytest.approx(1.0)
    assert acf[20] > 0.8 and acf[10] < -0.8
    assert np.all(autocorrelation(np.ones(50), 5)[1:] == 0)


def test_combined_batch_run_c_is_a_convergence_failure_with_g_at_zero():
    f = detect_convergence_failure(History(**run_c_combined()))
    assert f is not None and f.kind == "convergence"
    assert "generator loss at zero" in f.message and "pinned near zero" in f.message


def test_aggressive_adam_run_d_is_a_convergence_failure_with_g_climbing():
    f = detect_convergence_failure(History(**run_d_aggressive_adam()))
    assert f is not None and "generator loss climbing" in f.message
    assert f.details["pinned"] == {"d1": 1.0, "d2": 1.0}
    assert summarize(History(**run_d_aggressive_adam()))["verdict"] == "convergence failure"


def test_chapter_9_crash_d2_at_the_bce_ceiling():
    f = detect_convergence_failure(History(**ch9_crash()))
    assert f is not None and "calls everything real" in f.message
    # before the crash: nothing
    assert detect_convergence_failure(History(**{k: v[:60] for k, v in ch9_crash().items()})) is None


def test_short_or_recovering_dips_are_not_failures():
    h = run_a_stable(0)
    h["d1"][200:215] = 0.001                       # a brief crash, then recovery (the book: "some ... recover")
    h["d2"][200:215] = 0.001
    assert detect_convergence_failure(History(**h)) is None
    # D at zero but G healthy (neither at zero nor climbing): not the book's failure signature
    d = dict(d1=np.full(100, 0.001), d2=np.full(100, 0.001), g=np.full(100, 1.0))
    assert detect_convergence_failure(d) is None
    assert detect_convergence_failure({"d1": [0.0] * 10, "d2": [0.0] * 10, "g": [0.0] * 10}) is None  # too short


# ---------------------------------------------------------------------------------------------- sample checks
def test_mode_collapse_from_samples():
    rng = np.random.default_rng(0)
    real = rng.random((200, 8, 8, 1))
    assert detect_mode_collapse(real[:100], real[100:]) is None
    modes = rng.random((3, 8, 8, 1))                # "only a few types of figure-eights"
    collapsed = modes[rng.integers(0, 3, 100)] + rng.normal(0, 0.01, (100, 8, 8, 1))
    f = detect_mode_collapse(collapsed, real)
    assert f is not None and f.kind == "mode_collapse"
    assert f.details["duplicate_share"] > 0.9
    identical = np.repeat(real[:1], 50, axis=0)
    f = detect_mode_collapse(identical, real)
    assert f.details["ratio"] == pytest.approx(0.0, abs=1e-6)
    assert sample_diversity(identical) == pytest.approx(0.0, abs=1e-6)
    assert duplicate_share(real[:100], real[100:]) < 0.1


# ----------------------------------------------------------------------------------------------- the monitor
def test_monitor_warns_once_per_episode():
    mon = TrainingMonitor(window=50, check_every=10)
    data = run_d_aggressive_adam(n=200)
    with pytest.warns(GANFailureWarning, match="convergence"):
        for i in range(200):
            mon.update(**{k: v[i] for k, v in data.items()})
    assert [f.kind for f in mon.findings] == ["convergence"]
    assert mon.findings[0].step == 50
    printed = []
    mon = TrainingMonitor(warn=False, callback=printed.append)
    data = run_b_collapse(n=300)
    for i in range(300):
        mon.update(**{k: v[i] for k, v in data.items()})
    assert [f.kind for f in mon.findings] == ["oscillation"] and printed[0].startswith("!oscillation")


def test_monitor_stays_quiet_on_a_stable_run():
    mon = TrainingMonitor()
    data = run_a_stable(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GANFailureWarning)
        for i in range(N):
            mon.update(**{k: v[i] for k, v in data.items()})
    assert mon.findings == []


def test_a_bounded_monitor_finds_the_same_failures_and_holds_few_steps():
    """keep= bounds the history in memory (a long run stays flat); findings and their steps are those of the
    unbounded monitor."""
    data = run_d_aggressive_adam(n=200)
    full, bounded = TrainingMonitor(warn=False), TrainingMonitor(warn=False, keep=60, osc_window=60)
    for mon in (full, bounded):
        mon.osc_window = 60
        for _ in range(3):
            for i in range(200):
                mon.update(**{k: v[i] for k, v in data.items()})
    assert full.steps == bounded.steps == 600 and len(full.history) == 600
    assert len(bounded.history) < 120 and bounded.dropped == 600 - len(bounded.history)
    np.testing.assert_array_equal(bounded.history["g"], full.history["g"][-len(bounded.history):])
    assert [(f.kind, f.step) for f in bounded.findings] == [(f.kind, f.step) for f in full.findings]
    assert len(full.findings) >= 1

def test_monitor_sample_check_waits_for_warmup():
    mon = TrainingMonitor(warn=False, sample_warmup=5)
    real = np.random.default_rng(0).random((50, 16))
    same = np.zeros((50, 16))
    assert mon.check_samples(same, real) is None           # untrained: not judged yet
    for _ in range(5):
        mon.update(d1=0.5, d2=0.5, g=1.0)
    assert mon.check_samples(same, real).kind == "mode_collapse"
    assert mon.check_samples(same, real) is not None and len(mon.findings) == 1   # reported once


# --------------------------------------------------------------------------------------------- history & plots
def test_history_csv_round_trip_and_plots(tmp_path):
    h = History()
    for i in range(20):
        h.append(d1=0.5, d2=0.4 + i / 100, g=1.0, a1=0.75, a2=0.8)
    assert len(h) == 20 and h["d2"][-1] == pytest.approx(0.59)
    path = h.to_csv(str(tmp_path / "h.csv"))
    back = History.from_csv(path)
    assert back.keys() == ["d1", "d2", "g", "a1", "a2"]
    np.testing.assert_allclose(back["d2"], h["d2"])
    files = save_history(h, str(tmp_path / "run"))
    assert all(os.path.getsize(f) > 0 for f in files)
    assert os.path.basename(files[1]) == "plot_line_plot_loss.png"
    assert os.path.getsize(plot_history(h["d1"], h["d2"], h["g"], h["a1"], h["a2"], str(tmp_path / "p.png")))
    assert os.path.getsize(plot_history_combined([0.5] * 5, [1.0] * 5, [0.7] * 5, str(tmp_path / "c.png")))
    h.append(d1=0.1)                                        # missing columns stay aligned (NaN)
    assert len(h["g"]) == 21 and np.isnan(h["g"][-1])


# -------------------------------------------------------------------------------- small runs that really fail
def _gan1d_models(seed, g_bias=0.0, d_lr=None, g_lr=None, frozen_latent=False):
    from tinygan import random as tg_random
    from tinygan.gans import gan1d
    from tinygan.keras.layers import Dense
    from tinygan.keras.models import Sequential
    from tinygan.keras.optimizers import Adam
    tg_random.seed(seed)
    d = gan1d.define_discriminator()
    if d_lr:
        d.compile(loss="binary_crossentropy", optimizer=Adam(lr=d_lr), metrics=["accuracy"])
    if frozen_latent:     # the output cannot depend on z: every latent point maps to one sample
        g = Sequential([Dense(15, activation="relu", kernel_initializer="zeros", trainable=False, input_dim=5),
                        Dense(2)])
    else:
        g = gan1d.define_generator(5)
    if g_bias:
        w = g.get_weights()
        w[-1] = w[-1] + g_bias
        g.set_weights(w)
    d.trainable = False
    gan = Sequential([g, d])
    gan.compile(loss="binary_crossentropy", optimizer=Adam(lr=g_lr) if g_lr else "adam")
    return g, d, gan


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_real_run_convergence_failure_is_detected_during_training(tmp_path):
    """An overpowered discriminator (Adam lr 0.01) against a generator that outputs garbage and barely learns
    (lr 1e-6): D loss falls to ~0 and the generator loss climbs, as in the book's run D."""
    from tinygan.gans import gan1d
    g, d, gan = _gan1d_models(0, g_bias=2.0, d_lr=0.01, g_lr=1e-6)
    lines = []
    res = gan1d.train(g, d, gan, 5, n_epochs=300, n_eval=1000, out_dir=str(tmp_path), log=lines.append)
    kinds = [f.kind for f in res["findings"]]
    assert "convergence" in kinds
    assert any(line.startswith("!convergence") for line in lines)
    assert summarize(res["history"])["verdict"] == "convergence failure"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_real_run_mode_collapse_is_detected_from_samples(tmp_path):
    """A generator whose output cannot depend on the latent point: every sample is identical."""
    from tinygan.gans import gan1d
    g, d, gan = _gan1d_models(0, frozen_latent=True)
    res = gan1d.train(g, d, gan, 5, n_epochs=200, n_eval=100, out_dir=str(tmp_path), log=None)
    assert [f.kind for f in res["findings"]] == ["mode_collapse"]     # at the step-200 summary (after warm-up)
    assert res["findings"][0].details["duplicate_share"] == 1.0


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_real_healthy_run_raises_nothing(tmp_path):
    from tinygan.gans import gan1d
    g, d, gan = _gan1d_models(1)
    res = gan1d.train(g, d, gan, 5, n_epochs=300, n_eval=1000, out_dir=str(tmp_path), log=None)
    assert [f for f in res["findings"] if f.kind == "convergence"] == []
