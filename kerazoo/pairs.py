"""Paired images for image-to-image translation: `(input, target)` uint8 arrays, made three ways.

`kerazoo.make_dataset(name, split, batch_size, pairs=...)` is the entry point; this module makes the
NumPy arrays it batches:

| source | input -> target |
|---|---|
| `synthetic_maps` (the offline default) | a procedural map rendering -> the matching aerial-style tile (`direction="map2aerial"`), or back (`"aerial2map"`) |
| any image dataset with `pairs="edges"` | the image's edge map (Sobel magnitude, thresholded) -> the image |
| any image dataset with `pairs="lowres:K"` | the image shrunk K times by area averaging -> the image (super-resolution) |
| `pix2pix_folder` | the `A|B` side-by-side images of a pix2pix archive (`train/`, `val/`, `test/`), `direction="AtoB"` or `"BtoA"` |

Every failure raises `kerazoo.data.DataError` with one line that says what was wrong and what to do.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from kerazoo._checks import MAX_FILE_BYTES, check_file
from kerazoo.data import DataError

__all__ = [
    "PAIRED_DATASETS",
    "MAP_PALETTE",
    "DIRECTIONS",
    "parse_pairs",
    "edges",
    "area_downscale",
    "synthetic_maps",
    "render_tiles",
    "load_pix2pix_folder",
    "map_colour_accuracy",
]

PAIRED_DATASETS = ("synthetic_maps", "pix2pix_folder")
DIRECTIONS = {"synthetic_maps": ("map2aerial", "aerial2map"), "pix2pix_folder": ("AtoB", "BtoA")}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
EDGE_THRESHOLD = 0.25  # of each image's largest gradient magnitude
MAPS_TILES = {"train": 1000, "test": 200}  # synthetic_maps tiles per split
MAPS_SIZE = 64

# What a map service draws (OpenStreetMap's standard style): one flat colour per kind of ground.
MAP_PALETTE = {
    "land": (242, 239, 233),
    "park": (200, 250, 204),
    "water": (170, 211, 223),
    "road": (255, 255, 255),
    "road_casing": (190, 190, 190),
    "major_road": (252, 214, 164),
    "building": (217, 208, 201),
    "building_outline": (196, 182, 171),
}
LAND, PARK, WATER, ROAD, MAJOR, BUILDING = range(6)


def parse_pairs(pairs) -> tuple:
    """`"edges"` -> `("edges", None)`; `"lowres:K"` -> `("lowres", K)`; a clear error otherwise."""
    text = str(pairs)
    if text == "edges":
        return "edges", None
    kind, _, factor = text.partition(":")
    if kind == "lowres" and factor.isdigit() and int(factor) >= 2:
        return "lowres", int(factor)
    raise DataError(
        f"Unknown pairs {pairs!r}. Expected 'edges' (edge map -> image) or 'lowres:K' (the image "
        "shrunk K times, K >= 2 -> the image)."
    )


def edges(images: np.ndarray) -> np.ndarray:
    """uint8 edge maps of uint8 images `(N, H, W, C)`: white where the Sobel gradient magnitude of the
    grey image exceeds `EDGE_THRESHOLD` of that image's largest, black elsewhere; same shape."""
    from scipy import ndimage

    grey = images.astype(np.float32).mean(axis=-1)
    # 3x3 Sobel kernels over each image's own rows and columns (ndimage.sobel would also smooth
    # across the batch axis, mixing neighbouring images).
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], np.float32)
    dx = ndimage.correlate(grey, sobel[None], mode="nearest")
    dy = ndimage.correlate(grey, sobel.T[None], mode="nearest")
    magnitude = np.hypot(dx, dy)
    peak = magnitude.max(axis=(1, 2), keepdims=True)
    mask = magnitude > EDGE_THRESHOLD * np.where(peak > 0, peak, np.inf)
    return np.repeat((mask * 255).astype(np.uint8)[..., None], images.shape[-1], axis=-1)


def area_downscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Images `(N, H, W, C)` shrunk `factor` times by averaging each `factor x factor` block (float32,
    same 0..255 scale); H and W must be multiples of `factor`."""
    n, h, w, c = images.shape
    if h % factor or w % factor:
        raise DataError(
            f"pairs='lowres:{factor}' needs image sides that are multiples of {factor}; these images "
            f"are {h}x{w}. Pick a factor that divides both (or resize with image_size=)."
        )
    blocks = images.astype(np.float32).reshape(n, h // factor, factor, w // factor, factor, c)
    return blocks.mean(axis=(2, 4))


def make_pairs(images: np.ndarray, pairs) -> tuple:
    """`(inputs, targets)` from uint8 images for `pairs` (see `parse_pairs`)."""
    kind, factor = parse_pairs(pairs)
    if kind == "edges":
        return edges(images), images
    return area_downscale(images, factor), images


# --- synthetic_maps -------------------------------------------------------------------------------


def _smooth_field(rng, size: int, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1] over a `size x size` tile: random values on a `cells x cells` grid,
    interpolated by cubic splines."""
    from scipy import ndimage

    grid = rng.random((cells + 1, cells + 1))
    field = ndimage.zoom(grid, size / (cells + 1), order=3, mode="nearest")[:size, :size]
    return (field - field.min()) / max(float(np.ptp(field)), 1e-6)


def _layout(rng, size: int) -> tuple:
    """One tile's ground kinds `(size, size)` int (LAND, PARK, ...) and building ids (0: none)."""
    kinds = np.full((size, size), LAND, dtype=np.int8)
    kinds[_smooth_field(rng, size, 3) > rng.uniform(0.6, 0.85)] = PARK
    yy, xx = np.mgrid[0:size, 0:size]
    water = rng.random()
    if water < 0.35:  # a river across the tile
        centre = rng.uniform(0.2, 0.8) * size + rng.uniform(2, 6) * np.sin(
            xx * rng.uniform(0.05, 0.15) + rng.uniform(0, 6.3)
        )
        kinds[np.abs(yy - centre) < rng.uniform(2.5, 5.5) * size / 64] = WATER
    elif water < 0.6:  # a lake
        kinds[_smooth_field(rng, size, 2) > 0.8] = WATER
    roads = np.zeros((size, size), dtype=np.int8)
    scale = size / 64
    for axis in (0, 1):
        for _ in range(rng.integers(1, 4)):
            at = int(rng.integers(4, size - 4))
            major = rng.random() < 0.3
            half = max(1, round((2 if major else 1.3) * scale))
            line = yy if axis == 0 else xx
            roads[np.abs(line - at) < half] = MAJOR if major else ROAD
    kinds[roads > 0] = roads[roads > 0]
    buildings = np.zeros((size, size), dtype=np.int16)
    density = rng.uniform(0.0, 1.0)
    for b in range(1, int(density * 30 * scale**2) + 1):
        h, w = (rng.integers(3, 9, size=2) * scale).astype(int).clip(2)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        block = kinds[max(0, y - 1) : y + h + 1, max(0, x - 1) : x + w + 1]
        if np.all(block == LAND):  # off roads, water, parks and one pixel clear of them
            kinds[y : y + h, x : x + w] = BUILDING
            buildings[y : y + h, x : x + w] = b
    return kinds, buildings


def _render_map(kinds: np.ndarray) -> np.ndarray:
    """The flat-colour map rendering of a layout: roads with casings, buildings with outlines."""
    from scipy import ndimage

    colours = np.array(
        [MAP_PALETTE[k] for k in ("land", "park", "water", "road", "major_road", "building")], dtype=np.uint8
    )
    image = colours[kinds]
    roads = (kinds == ROAD) | (kinds == MAJOR)
    casing = ndimage.binary_dilation(roads) & ~roads & (kinds != WATER)
    image[casing] = MAP_PALETTE["road_casing"]
    building = kinds == BUILDING
    image[building & ~ndimage.binary_erosion(building)] = MAP_PALETTE["building_outline"]
    return image


def _render_aerial(rng, kinds: np.ndarray, buildings: np.ndarray) -> np.ndarray:
    """An aerial-style photo of a layout: textured fields, tree canopy, water, asphalt, shaded
    roofs with shadows, sensor noise."""
    from scipy import ndimage

    size = kinds.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Fields: Voronoi patches, each its own crop colour and furrow direction.
    points = rng.random((int(rng.integers(3, 8)), 2)) * size
    patch = np.argmin((yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2, axis=-1)
    crops = np.array(
        [(120, 135, 70), (150, 140, 90), (95, 120, 60), (170, 160, 110), (110, 100, 70)], np.float32
    )
    field_colours = crops[rng.integers(0, len(crops), len(points))] + rng.normal(0, 8, (len(points), 3))
    angles = rng.uniform(0, np.pi, len(points))[patch]
    furrows = 10 * np.sin((xx * np.cos(angles) + yy * np.sin(angles)) * rng.uniform(0.8, 1.6))
    image = field_colours[patch] + furrows[..., None]
    # Tree canopy: dark greens, clumped.
    canopy = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 1.0)
    trees = np.stack([45 + 25 * canopy, 80 + 30 * canopy, 40 + 15 * canopy], axis=-1)
    image = np.where((kinds == PARK)[..., None], trees, image)
    ripple = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 2.0)
    water = np.stack([35 + 6 * ripple, 65 + 8 * ripple, 80 + 8 * ripple], axis=-1)
    image = np.where((kinds == WATER)[..., None], water, image)
    asphalt = np.where((kinds == MAJOR)[..., None], 150.0, 110.0) + rng.normal(0, 5, (size, size, 1))
    image = np.where(((kinds == ROAD) | (kinds == MAJOR))[..., None], asphalt, image)
    # Roofs: one colour per building, lit from the top left; shadows fall to the bottom right.
    roofs = np.array([(150, 150, 155), (160, 85, 70), (200, 190, 170), (110, 110, 120)], np.float32)
    ids = int(buildings.max())
    if ids:
        roof_colours = roofs[rng.integers(0, len(roofs), ids + 1)]
        footprint = buildings > 0
        shift = max(1, size // 32)
        shadow = np.zeros_like(footprint)
        shadow[shift:, shift:] = footprint[:-shift, :-shift]
        shadow &= ~footprint
        image[shadow] *= 0.45
        lit = footprint & ~np.roll(footprint, 1, axis=0) | footprint & ~np.roll(footprint, 1, axis=1)
        image = np.where(footprint[..., None], roof_colours[buildings], image)
        image[lit] = np.minimum(image[lit] * 1.25, 255)
    image = ndimage.gaussian_filter(image, (0.5, 0.5, 0)) + rng.normal(0, 4, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def render_tiles(n: int, size: int = MAPS_SIZE, seed: int = 0) -> tuple:
    """`n` paired tiles `(maps, aerials)`, uint8 `(n, size, size, 3)` each; tile `i` is drawn from
    `(seed, i)` alone."""
    maps = np.empty((n, size, size, 3), np.uint8)
    aerials = np.empty_like(maps)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        kinds, buildings = _layout(rng, size)
        maps[i] = _render_map(kinds)
        aerials[i] = _render_aerial(rng, kinds, buildings)
    return maps, aerials


@functools.lru_cache(maxsize=4)
def _maps_split(split: str, size: int) -> tuple:
    # Fixed splits: the training tiles come from seed 0, the test tiles from seed 1.
    maps, aerials = render_tiles(MAPS_TILES[split], size, seed={"train": 0, "test": 1}[split])
    maps.setflags(write=False)
    aerials.setflags(write=False)
    return maps, aerials


def synthetic_maps(split: str, direction: str = "map2aerial", size: int = MAPS_SIZE) -> tuple:
    """`(inputs, targets)` of the `synthetic_maps` split: 1,000 training and 200 test tiles (cached
    per process); `direction` `"map2aerial"` or `"aerial2map"`; `size` at least 16, a multiple of 16."""
    check_direction("synthetic_maps", direction)
    if not isinstance(size, int) or size < 16 or size % 16:
        raise DataError(
            f"synthetic_maps tiles must be at least 16 pixels, a multiple of 16. Received: size={size!r}"
        )
    maps, aerials = _maps_split(split, size)
    return (maps, aerials) if direction == "map2aerial" else (aerials, maps)


def map_colour_accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    """The share of pixels whose nearest `MAP_PALETTE` colour is the same in `outputs` as in `targets`
    (uint8 or 0..255 floats, `(N, H, W, 3)`): how well a translated map gets each kind of ground right."""
    palette = np.array(list(MAP_PALETTE.values()), np.float32)

    def nearest(images):
        flat = np.asarray(images, np.float32).reshape(-1, 3)
        return np.argmin(((flat[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)

    return float(np.mean(nearest(outputs) == nearest(targets)))


# --- pix2pix folders ------------------------------------------------------------------------------


def check_direction(dataset: str, direction) -> str:
    choices = DIRECTIONS[dataset]
    if direction not in choices:
        raise DataError(
            f"Unknown direction for '{dataset}'. Expected one of {choices}. Received: direction={direction!r}"
        )
    return direction


def load_pix2pix_folder(data_dir, split: str, direction: str = "AtoB") -> tuple:
    """`(inputs, targets)` uint8 from a pix2pix archive folder: `DIR/train/`, and `DIR/test/` (else
    `DIR/val/`) for the test split, each image one pair with A on the left half and B on the right,
    all of one size."""
    from PIL import Image, UnidentifiedImageError

    check_direction("pix2pix_folder", direction)
    if data_dir is None:
        raise DataError(
            "Dataset 'pix2pix_folder' needs its folder: pass --data-dir DIR (DIR/train/, DIR/test/ or DIR/val/)."
        )
    root = Path(data_dir)
    names = ("train",) if split == "train" else ("test", "val")
    folder = next((root / n for n in names if (root / n).is_dir()), None)
    if folder is None:
        raise DataError(
            f"'{root}' has no {' or '.join(n + '/' for n in names)} folder: a pix2pix archive holds "
            "train/ and test/ (or val/), one A|B image per pair."
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"'{folder}' holds no .jpg or .png images.")
    images, shape = [], None
    for path in files:
        check_file(path, "image", limit=MAX_FILE_BYTES, error=DataError)
        try:
            with Image.open(path) as im:
                array = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise DataError(f"Cannot read image '{path}' ({str(e)[:120]}). Replace or remove it.") from None
        if shape is None:
            shape = array.shape
            if shape[1] % 2 or shape[1] < 2:
                raise DataError(
                    f"'{path}' is {shape[1]} pixels wide: a pix2pix pair is A and B side by side, an "
                    "even width."
                )
        elif array.shape != shape:
            raise DataError(
                f"'{path}' is {array.shape[1]}x{array.shape[0]} but '{files[0].name}' is "
                f"{shape[1]}x{shape[0]}: every pair in '{folder}' must have one size. Resize them first."
            )
        images.append(array)
    pairs = np.stack(images)
    half = shape[1] // 2
    a, b = pairs[:, :, :half], pairs[:, :, half:]
    return (a, b) if direction == "AtoB" else (b, a)
