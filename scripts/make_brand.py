"""Draw RoomDB's brand images into custom_components/roomdb/brand/ (run once; results committed).

Home Assistant 2026.3+ serves a custom integration's images from that folder through its brands
proxy, and HACS checks them: `icon.png` 256x256, `icon@2x.png` 512x512 (square, transparent
corners) and `logo.png` (landscape, shortest side 128 to 256 px). The icon is a house whose floors
are the stacked discs of a database: rooms kept in a database.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parents[1] / "custom_components" / "roomdb" / "brand"
BLUE = (3, 169, 244, 255)
WHITE = (255, 255, 255, 255)
INK = (33, 33, 33, 255)
SUPERSAMPLE = 4


def icon(size: int) -> Image.Image:
    """The square icon at `size` pixels (drawn larger, then scaled down for smooth edges)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / 16
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=3 * unit, fill=BLUE)
    # The roof.
    draw.polygon(
        [(8 * unit, 2.6 * unit), (13.6 * unit, 7.4 * unit), (2.4 * unit, 7.4 * unit)], fill=WHITE
    )
    # The house body is a database cylinder; its rims mark the floors.
    left, right = 3.0 * unit, 13.0 * unit
    draw.rectangle((left, 7.0 * unit, right, 13.0 * unit), fill=WHITE)
    draw.ellipse((left, 12.2 * unit, right, 13.8 * unit), fill=WHITE)
    for top in (8.2, 10.4):
        rim = (left + unit * 0.6, top * unit, right - unit * 0.6, (top + 1.6) * unit)
        draw.arc(rim, 10, 170, fill=BLUE, width=int(unit * 0.45))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int) -> Image.Image:
    """The icon with the name beside it, `height` pixels high, on a transparent background."""
    mark = icon(height)
    font = ImageFont.load_default(size=int(height * 0.55))
    text = "RoomDB"
    left, top, right, bottom = font.getbbox(text)
    width = height + int(height * 0.2) + (right - left) + int(height * 0.1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(mark, (0, 0), mark)
    draw = ImageDraw.Draw(image)
    y = (height - (bottom - top)) // 2 - top
    draw.text((height + int(height * 0.2), y), text, font=font, fill=INK)
    return image


def main() -> None:
    BRAND.mkdir(parents=True, exist_ok=True)
    icon(256).save(BRAND / "icon.png", optimize=True)
    icon(512).save(BRAND / "icon@2x.png", optimize=True)
    logo(256).save(BRAND / "logo.png", optimize=True)
    for name in ("icon.png", "icon@2x.png", "logo.png"):
        with Image.open(BRAND / name) as image:
            print(name, image.size, image.mode)


if __name__ == "__main__":
    main()
