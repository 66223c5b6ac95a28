"""The widgets in a real browser: Voila serves a notebook, Debian's headless chromium renders it, a real kernel answers."""

from pathlib import Path

import nbformat

from mlops_workbench.contract import infer_contract, load_contract
from mlops_workbench.data import demo_batch, demo_frame
from mlops_workbench.validation import validate


def open_in_voila(page, voila, folder: Path, name: str, source: str, selector: str, timeout: float = 120_000):
    "Write a one-cell notebook, serve it with Voila, open it in the page and wait for `selector` to render."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:  # Voila streams the page while the kernel runs the cell: wait for the widget, not for the page's end
        page.goto(voila(folder / name, folder), wait_until="commit", timeout=120_000)
        page.wait_for_selector(selector, timeout=timeout)
    except PlaywrightTimeout as e:
        raise AssertionError(f"{name}: {selector} did not render\n{voila.logs()}") from e
    return page


def test_explorer_renders_in_voila_and_answers_a_column_pick(tmp_path, voila, browser_page):
    page = open_in_voila(browser_page, voila, tmp_path, "explore.ipynb",
                         "from mlops_workbench.data import demo_frame\nfrom mlops_workbench.explorer import Explorer\n"
                         "Explorer(demo_frame(), target='species')", ".widget-tab")
    assert "344" in page.inner_text("body")  # the header states the rows
    page.get_by_text("Column", exact=True).first.click()
    picker = page.locator(".widget-dropdown select").first
    picker.select_option("island")
    page.wait_for_function("document.body.innerText.includes('Torgersen')", timeout=60_000)
    assert not page.errors


def test_contract_review_previews_and_saves_from_the_browser(tmp_path, voila, browser_page):
    expected = validate(demo_batch(), infer_contract(demo_frame(), target="species"))  # what the preview must compute
    page = open_in_voila(browser_page, voila, tmp_path, "review.ipynb",
                         "from mlops_workbench.data import demo_frame, demo_batch\n"
                         "from mlops_workbench.contract import infer_contract\nfrom mlops_workbench.review import ContractReview\n"
                         "ContractReview(infer_contract(demo_frame(), target='species'), 'contract.yaml', sample=demo_batch())",
                         "button:has-text('Validate a sample')")
    page.click("button:has-text('Validate a sample')")
    page.wait_for_function("document.body.innerText.includes('validation FAILED')", timeout=60_000)
    body = page.inner_text("body")
    assert expected.summary() in body  # the planted rows' failure count, as computed, e.g. "3 error(s)"
    assert f"{expected.counts()['error']} error(s)" in body and expected.counts()["error"] == 3
    assert "Atlantis" in body  # the unseen island is shown among the failing examples
    page.click("button:has-text('Save')")
    for _ in range(120):
        if (tmp_path / "contract.yaml").exists():
            break
        page.wait_for_timeout(500)
    assert load_contract(tmp_path / "contract.yaml").version == 2
    assert not page.errors


def test_model_comparison_renders_leaderboard_and_plots(tmp_path, voila, browser_page):
    page = open_in_voila(browser_page, voila, tmp_path, "compare.ipynb",
                         "from mlops_workbench.data import demo_frame\nfrom mlops_workbench.train import compare\n"
                         "from mlops_workbench.compare import ModelComparison\n"
                         "frame = demo_frame()\n"
                         "board = compare(frame, 'species', 'classification', ['dummy', 'logistic'], ['balanced_accuracy'], folds=3, n_jobs=1)\n"
                         "ModelComparison(board, frame, 'species')",
                         ".widget-select-multiple", timeout=180_000)
    page.wait_for_selector(".jp-OutputArea img, .widget-output img", timeout=120_000)
    text = page.inner_text(".mlops-wb-leaderboard")
    assert text.index("1\tlogistic (linear)") < text.index("2\tdummy")  # named as given, best first: the baseline last
    page.click("button:has-text('ascending')")
    page.wait_for_function("(t => t.indexOf('dummy') < t.indexOf('logistic'))"
                           "(document.querySelector('.mlops-wb-leaderboard').innerText)", timeout=60_000)
    assert not page.errors
