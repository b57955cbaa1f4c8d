"""Small ICC v2 RGB display profiles built by hand, and the colour science to check
conversions between them with numpy (no colour-management library involved).

A matrix/TRC profile (ICC.1:2001-04, section 6.3.1.2) is a header, a tag table, the
D50-adapted XYZ of the three primaries (``rXYZ``, ``gXYZ``, ``bXYZ``), one tone curve
per channel (``rTRC``…, a plain gamma here, or the sRGB curve as a parametric
curve) and a white point. That is what Adobe RGB (1998) and Display P3 files are;
Pillow can make the sRGB one but no other RGB space, so the tests build theirs.
"""

import struct

import numpy as np

#: The ICC profile connection space's white: D50, as the ICC spec rounds it.
D50 = np.array([0.9642, 1.0, 0.8249])
#: CIE D65 (x, y), the white of sRGB and Adobe RGB.
D65_XY = (0.3127, 0.3290)
#: The Bradford cone response matrix (Lam 1985), for chromatic adaptation.
BRADFORD = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)
#: Primaries (x, y) of R, G, B.
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))  # IEC 61966-2-1
ADOBE_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))  # Adobe RGB (1998)
#: Adobe RGB (1998)'s gamma, 2 + 51/256, exactly a u8Fixed8Number.
ADOBE_GAMMA = 563 / 256
#: The sRGB curve as ICC parametric curve type 3: Y = (aX + b)^g for X >= d, else cX.
SRGB_PARAMETERS = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)


def xyz_of(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz(primaries, white_xy=D65_XY):
    """The matrix from linear RGB to XYZ, columns the primaries scaled so that
    RGB (1, 1, 1) is the white (Y = 1)."""
    columns = np.stack([xyz_of(p) for p in primaries], axis=1)
    scale = np.linalg.solve(columns, xyz_of(white_xy))
    return columns * scale


def bradford(source_white, target_white):
    """Chromatic adaptation of XYZ from ``source_white`` to ``target_white``."""
    cone_source = BRADFORD @ source_white
    cone_target = BRADFORD @ target_white
    return np.linalg.inv(BRADFORD) @ np.diag(cone_target / cone_source) @ BRADFORD


def srgb_encode(linear):
    """Linear light (0-1) to the sRGB curve's values (0-1), IEC 61966-2-1."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(
        linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055
    )


def adobe_to_srgb(rgb8):
    """uint8 Adobe RGB (1998) pixels as sRGB, float 0-255, clipped to the gamut:
    linear light through XYZ (D65, where both spaces are defined)."""
    linear = (np.asarray(rgb8, np.float64) / 255.0) ** ADOBE_GAMMA
    matrix = np.linalg.inv(rgb_to_xyz(SRGB_PRIMARIES)) @ rgb_to_xyz(ADOBE_PRIMARIES)
    return 255.0 * srgb_encode(linear @ matrix.T)


# -- writing the profile -----------------------------------------------------------------
def _s15f16(values):
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _xyz_tag(xyz):
    return b"XYZ \0\0\0\0" + _s15f16(xyz)


def _gamma_tag(gamma):
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _srgb_curve_tag():
    return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + _s15f16(SRGB_PARAMETERS)


def _text_description(text):
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67  # no ScriptCode description
    )


def rgb_profile(description, primaries, curve):
    """An ICC v2.1 RGB display profile: primaries (x, y) with a D65 white, adapted
    to D50 with Bradford as the spec asks, and ``curve`` (bytes of a curv or para
    tag) for every channel."""
    colorants = bradford(xyz_of(D65_XY), D50) @ rgb_to_xyz(primaries)
    tags = [
        (b"desc", _text_description(description)),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, test data\0"),
        (b"wtpt", _xyz_tag(D50)),
        (b"rXYZ", _xyz_tag(colorants[:, 0])),
        (b"gXYZ", _xyz_tag(colorants[:, 1])),
        (b"bXYZ", _xyz_tag(colorants[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)  # every tag starts on a 4-byte boundary
        table.append(struct.pack(">4sII", signature, offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(
            ">I4sI4s4s4s", size, b"\0\0\0\0", 0x02100000, b"mntr", b"RGB ", b"XYZ "
        )
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(D50)
        + b"\0" * 48  # creator, profile ID (v4 only), reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


def adobe_rgb_profile():
    """Adobe RGB (1998) as an ICC profile (its primaries, white and gamma)."""
    return rgb_profile(
        "Adobe RGB (1998), test", ADOBE_PRIMARIES, _gamma_tag(ADOBE_GAMMA)
    )


def srgb_profile_by_hand():
    """sRGB as an ICC profile of our own making: not byte for byte Pillow's."""
    return rgb_profile("sRGB, test", SRGB_PRIMARIES, _srgb_curve_tag())


def linear_srgb_profile():
    """sRGB's primaries with linear tone curves (gamma 1)."""
    return rgb_profile("linear sRGB, test", SRGB_PRIMARIES, _gamma_tag(1.0))
