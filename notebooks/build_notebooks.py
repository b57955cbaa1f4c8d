"""Write the notebooks of this folder (outputs stripped) from the cells below.

Run ``python notebooks/build_notebooks.py`` after editing a notebook's cells here;
the experiment logic itself lives in :mod:`naah.experiments`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

SETUP = """\
%matplotlib inline
import naah
from naah.experiments import (
{imports}
){plotting}

config = notebook_config("{name}")
print(config.banner)"""


def setup(*names: str, plotting: bool = False) -> str:
    """The first code cell: imports, the configuration and its banner."""
    extra = "\nfrom naah.plotting import plot_history" if plotting else ""
    imports = textwrap.fill(
        ", ".join(["notebook_config", *names]) + ",",
        width=84,
        initial_indent="    ",
        subsequent_indent="    ",
    )
    return SETUP.replace("{imports}", imports).replace("{plotting}", extra)


MODES = """\
**Running it.** With the pretrained VGG-19 weights (`naah weights download`, or
`$NAAH_WEIGHTS`) the notebook makes the full-size figures (512 px, hundreds of
L-BFGS iterations: expect tens of minutes on a CPU). Without them the first cell
says so and everything runs on small random fixture weights at a small size, so the
images only show that the code runs. `NAAH_NOTEBOOK_TINY=1` shrinks it further for
CI. Figures are saved in `output/<notebook>/` (see `config.output_dir`)."""

NOTEBOOKS = {
    "01_training_fig3": [
        """\
# Figure 3: training VGG-19 from scratch

The report trained VGG-19 from random weights (mini-batch SGD with momentum 0.9,
dropout 0.5 after fc6 and fc7) on a small ten-category image set and plotted test
accuracy per epoch. Its images cannot be downloaded here, so this notebook uses
scikit-learn's ten handwritten digits upscaled to 32×32 RGB, and a narrow VGG-19 (all
19 weight layers, channels 8–64, fc 128) so that it trains on a CPU.

**Your own data:** `load_image_folder(path)` reads any folder laid out as
`class_name/*.jpg`.

**What to expect:** test accuracy starts at chance (10 %), stays there for an epoch
or two (a deep plain network starts slowly) and then climbs to roughly 90 % within
10–20 epochs (about 5 s per epoch on a laptop CPU). Pretrained weights play no part
here. `NAAH_NOTEBOOK_TINY=1` trains 2 epochs on 300 images: a smoke test only.""",
        setup(
            "digits_image_set",
            "format_table",
            "load_image_folder",
            "plot_accuracy",
            "train_vgg19",
            "write_image_folder",
        ),
        """\
# The digits, written as class folders and read back as any user folder would be.
digits = digits_image_set(size=32)
per_class = config.pick(full=1000, fixture=1000, tiny=30)
folder = write_image_folder(digits.take_per_class(per_class), config.output("digits"))
images = load_image_folder(folder, size=32)
train, test = images.split(test_fraction=0.2, seed=0)
print(f"{len(train)} training and {len(test)} test images, classes {images.class_names}")""",
        """\
def report(record):
    print(f"epoch {record.epoch:2d}: training loss {record.train_loss:.3f}, "
          f"test accuracy {record.test_accuracy:.1%}")

result = train_vgg19(
    train, test, epochs=config.pick(full=20, fixture=20, tiny=2),
    batch_size=32, learning_rate=0.01, momentum=0.9, dropout=0.5, seed=0,
    callback=report,
)""",
        """\
ax = plot_accuracy(result.history, config.output("fig3_accuracy.png"),
                   note="VGG-19 (narrow) trained from scratch on digits, 32 px")
ax.figure""",
        "print(format_table([vars(r) for r in result.history]))",
    ],
    "02_style_transfer_fig4_5": [
        """\
# Figures 4 and 5: Tübingen in the style of The Starry Night

Figure 4 is the photograph of the Neckarfront in Tübingen (Andreas Praefcke, CC BY
3.0) rendered in the style of van Gogh's *The Starry Night*: content from conv4_2,
style from conv1_1 … conv5_1, α/β = 10⁻³, L-BFGS from white noise. Figure 5 shows the
same run after 0, 5 and 10 L-BFGS iterations.

**What to expect** with the pretrained weights: after 10 iterations the noise already
carries the colours and swirls of the painting and a faint outline of the houses;
after a few hundred iterations the houses are clearly drawn with the painting's brush
strokes.""",
        MODES,
        setup("image_grid", "image_path", "progression_figure", plotting=True),
        """\
content, style = image_path("tubingen"), image_path("starry_night")
transfer = config.transfer()  # α = 1, β = 1e3; conv4_2; conv1_1 … conv5_1; L-BFGS
iterations = max(config.iterations, 10)
result = transfer.run(content, style, size=config.size, iterations=iterations,
                      snapshots=(0, 5, 10))""",
        """\
inputs = [naah.load_image(p, long_edge=config.size) for p in (content, style)]
image_grid([*inputs, result.image],
           ["content: Tübingen", "style: The Starry Night", f"{iterations} iterations"],
           note=f"Figure 4 ({config.label})", path=config.output("fig4.png"))""",
        """\
progression_figure(result, (0, 5, 10), note=f"Figure 5 ({config.label})",
                   path=config.output("fig5.png"))""",
        "plot_history(result.history, config.output('loss.png'), layers=True).figure",
    ],
    "03_optimizers_fig6_fig11": [
        """\
# Figures 6 and 11: L-BFGS, Adam and gradient descent

Figure 6 compares Adam and L-BFGS after 10 iterations on Tübingen in the style of
Turner's *The Shipwreck of the Minotaur*, and asks how many Adam iterations reach the
loss L-BFGS has after 10. Figure 11 plots the content and style losses per L-BFGS
iteration. A table then compares GD, Adam and L-BFGS on the same budget of
loss-and-gradient evaluations from several noise images.

**What to expect** with the pretrained weights: after 10 iterations L-BFGS has a
recognisable image while Adam's is still mostly noise; Adam needs many times more
iterations to reach the same loss. The style loss falls fastest at first; the content
loss first rises from noise's level, then falls. L-BFGS reaches the lowest loss for
the budget, then Adam, then GD.""",
        MODES,
        setup(
            "PreparedPair",
            "compare_optimizers",
            "comparison_table",
            "format_table",
            "image_path",
            "iterations_to_match",
            "match_figure",
            "plot_comparison",
            plotting=True,
        ),
        """\
# One compiled loss for every run of this notebook.
pair = PreparedPair(config.transfer(), image_path("tubingen"), image_path("shipwreck"),
                    size=config.size)
ADAM_LEARNING_RATE = 10.0  # pixel units; jcjohnson/neural-style's default for Adam""",
        """\
match = iterations_to_match(
    pair, reference_iterations=10, optimizer="adam", learning_rate=ADAM_LEARNING_RATE,
    max_iterations=config.pick(full=1000, fixture=500, tiny=20),
)
print(f"L-BFGS's loss after 10 iterations: {match.target_loss:.4g}; Adam reached it "
      f"after {match.iterations} iterations" if match.iterations else
      "Adam did not reach it within the iteration limit")
match_figure(match, note=f"Figure 6 ({config.label})", path=config.output("fig6.png"))""",
        """\
lbfgs = pair.run(config.iterations)  # Figure 11: losses per L-BFGS iteration
plot_history(lbfgs.history, config.output("fig11.png"), layers=True).figure""",
        """\
runs = compare_optimizers(
    pair, evaluations=config.pick(full=150, fixture=100, tiny=6),
    seeds=config.pick(full=(0, 1, 2), fixture=(0, 1, 2), tiny=(0,)),
    learning_rates={"adam": ADAM_LEARNING_RATE},
)
print(format_table([run.row() for run in runs]))
print()
print(format_table(comparison_table(runs)))""",
        """\
plot_comparison(runs, config.output("optimizers.png"), note=config.label).figure""",
    ],
    "04_reconstructions_fig2_fig7": [
        """\
# Figures 2 and 7: what each layer keeps

After Gatys et al.'s Figure 1 (the report's Figure 2): starting from white noise,
reconstruct Tübingen from the content loss at one layer alone (conv1_1 … conv5_1), and
The Starry Night's texture from the style loss of conv1_1 up to each of those layers.
Figure 7 is the content reconstruction from conv4_2, the content layer of the style
transfers (β = 0, no style layers).

**What to expect** with the pretrained weights: content from conv1_1 and conv2_1
gives the photograph back almost exactly; deeper layers keep the houses and their
arrangement but lose colours and fine detail. The style textures grow from fine
colour speckles (conv1_1) to large brush-stroke patterns (up to conv5_1).""",
        MODES,
        setup(
            "RECONSTRUCTION_LAYERS",
            "image_path",
            "reconstruct_content",
            "reconstruct_style",
            "reconstruction_figure",
        ),
        """\
weights, tubingen = config.vgg_weights(), image_path("tubingen")
sizes = dict(size=config.size, iterations=config.iterations)
content_recs = reconstruct_content(weights, tubingen, RECONSTRUCTION_LAYERS, **sizes)
reconstruction_figure(content_recs, note=f"content reconstructions ({config.label})",
                      path=config.output("fig2_content.png"))""",
        """\
style_recs = reconstruct_style(weights, image_path("starry_night"), **sizes)
reconstruction_figure(style_recs, note=f"style reconstructions ({config.label})",
                      path=config.output("fig2_style.png"))""",
        """\
(fig7,) = reconstruct_content(weights, tubingen, ["conv4_2"], **sizes)
reconstruction_figure([fig7], original=naah.load_image(tubingen, long_edge=config.size),
                      note=f"Figure 7 ({config.label})", path=config.output("fig7.png"))""",
    ],
    "05_alpha_beta_fig8": [
        """\
# Figure 8: the content/style trade-off α/β

Figure 8 renders Tübingen in the style of The Starry Night with α = 0.2 and
β = 10⁻⁶ or 10⁻⁵. A wider sweep then varies β over several orders of magnitude. Each
image is saved with a JSON file holding its settings and final losses.

**What to expect** with the pretrained weights: the larger β, the more the painting's
texture takes over; with small β the photograph stays almost unchanged apart from
colours. How small "small" is depends on the loss normalisation, so compare the
ratio α/β rather than the absolute values with other implementations.""",
        MODES,
        setup("Sweep", "format_table", "image_path", "sweep_figure"),
        """\
# Every α/β below shares one compiled loss.
sweeper = Sweep(image_path("tubingen"), image_path("starry_night"),
                weights=config.vgg_weights())
sizes = dict(size=config.size, iterations=config.iterations)
fig8 = sweeper.run({"alpha": [0.2], "beta": [1e-6, 1e-5]}, config.output("fig8"), **sizes)
sweep_figure(fig8, note=f"Figure 8 ({config.label})", path=config.output("fig8.png"))""",
        """\
betas = config.pick(full=[1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0],
                    fixture=[1e-6, 1e-4, 1e-2, 1.0], tiny=[1e-6, 1e-2])
wide = sweeper.run({"alpha": [0.2], "beta": betas}, config.output("sweep"), **sizes)
sweep_figure(wide, columns=4, note=config.label, path=config.output("sweep.png"))""",
        """\
print(format_table([{**p.settings, "loss": p.loss, "content": p.content,
                     "style": p.style, "file": p.image_path.name} for p in wide]))""",
    ],
    "06_kandinsky_picasso_fig9_10": [
        """\
# Figures 9 and 10: Kandinsky and Picasso

Tübingen in the style of Kandinsky's *Composition VII* (Figure 9) and of Picasso's
*Femme nue assise* (Figure 10). The Picasso is under copyright and not shipped with
naah: set `NAAH_PICASSO` to the path of your own image of it; without it, that
figure is skipped with a message.

**What to expect** with the pretrained weights: Composition VII's bright, broken
colour fields over the houses; the Picasso's cubist facets in brown and ochre.""",
        MODES,
        setup("image_grid", "image_path", "picasso_message", "picasso_path"),
        """\
transfer, tubingen = config.transfer(), image_path("tubingen")
kandinsky = transfer.run(tubingen, image_path("composition_vii"), size=config.size,
                         iterations=config.iterations)
image_grid([naah.load_image(image_path("composition_vii"), long_edge=config.size),
            kandinsky.image], ["style: Composition VII", "result"],
           note=f"Figure 9 ({config.label})", path=config.output("fig9.png"))""",
        """\
picasso = picasso_path()
if picasso is None:
    print(picasso_message())
else:
    result = transfer.run(tubingen, picasso, size=config.size,
                          iterations=config.iterations)
    display(image_grid([naah.load_image(picasso, long_edge=config.size), result.image],
                       ["style: Femme nue assise", "result"],
                       note=f"Figure 10 ({config.label})",
                       path=config.output("fig10.png")))""",
    ],
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of the cells: Markdown where the text starts with '# Figure' or
    '**', code otherwise; cell ids are stable so rebuilding changes nothing."""
    notebook = new_notebook(metadata={"kernelspec": KERNEL})
    for index, source in enumerate(cells):
        source = source.replace("{name}", name)
        markdown = source.startswith(("# Figure", "**"))
        cell = new_markdown_cell(source) if markdown else new_code_cell(source)
        cell["id"] = f"cell-{index}"
        notebook.cells.append(cell)
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        notebook = build(name, cells)
        nbformat.validate(notebook)
        nbformat.write(notebook, HERE / f"{name}.ipynb")
        print(f"wrote {name}.ipynb ({len(notebook.cells)} cells)")


if __name__ == "__main__":
    main()
