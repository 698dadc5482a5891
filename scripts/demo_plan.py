#!/usr/bin/env python3
"""Draws the demo's floor plan of building 1, basement B1 (examples/demo/plan-1-B1.png).

An original drawing made here, not copied art: walls, the pump room, the switch room, the
water-tank room, stairs and a row of parking bays, as flat shapes on a 1200x800 palette
image. Standard library only (zlib for the PNG). Run again to redraw:

    python3 scripts/demo_plan.py examples/demo/plan-1-B1.png
"""
import struct
import sys
import zlib

W, H = 1200, 800
PALETTE = [
    (250, 250, 247),  # 0 floor
    (55, 65, 81),     # 1 wall
    (219, 234, 254),  # 2 pump room (water)
    (254, 243, 199),  # 3 switch room (power)
    (209, 250, 229),  # 4 tank room
    (229, 231, 235),  # 5 stairs and lift core
    (156, 163, 175),  # 6 bay lines, stair treads
    (186, 230, 253),  # 7 water pipe
]

img = [bytearray(W) for _ in range(H)]


def rect(x0, y0, x1, y1, c):
    for y in range(max(0, y0), min(H, y1)):
        img[y][max(0, x0):min(W, x1)] = bytes([c]) * (min(W, x1) - max(0, x0))


def box(x0, y0, x1, y1, fill, wall=8):
    """A room: its fill inside walls `wall` px thick."""
    rect(x0, y0, x1, y1, 1)
    rect(x0 + wall, y0 + wall, x1 - wall, y1 - wall, fill)


def door(x0, y0, x1, y1):
    """A gap in a wall."""
    rect(x0, y0, x1, y1, 0)


# The outer wall of the basement.
box(20, 20, W - 20, H - 20, 0, wall=14)
# Pump room (left), with the door into the car park.
box(34, 34, 420, 360, 2)
door(300, 352, 380, 360)
# Switch room (top middle).
box(412, 34, 700, 260, 3)
door(520, 252, 600, 260)
# Water-tank room (top right).
box(692, 34, 1166, 300, 4)
door(880, 292, 960, 300)
# Stairs and lift core (bottom left).
box(34, 520, 300, 766, 5)
door(292, 600, 300, 680)
for y in range(540, 750, 22):
    rect(60, y, 170, y + 4, 6)
rect(190, 540, 280, 750, 6)
rect(198, 548, 272, 742, 5)
# The main water pipe from the pump room to the tank room along the car-park ceiling.
rect(400, 400, 1000, 410, 7)
rect(990, 300, 1000, 410, 7)
rect(400, 330, 410, 410, 7)
# Parking bays along the bottom and the middle.
for x in range(330, 1160, 110):
    rect(x, 600, x + 4, 766, 6)
rect(330, 600, 1150, 604, 6)
for x in range(450, 1160, 110):
    rect(x, 430, x + 4, 540, 6)


def chunk(kind, data):
    out = struct.pack(">I", len(data)) + kind + data
    return out + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


raw = b"".join(b"\x00" + bytes(row) for row in img)
png = b"\x89PNG\r\n\x1a\n"
png += chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 3, 0, 0, 0))
png += chunk(b"PLTE", b"".join(bytes(c) for c in PALETTE))
png += chunk(b"IDAT", zlib.compress(raw, 9))
png += chunk(b"IEND", b"")
with open(sys.argv[1] if len(sys.argv) > 1 else "plan-1-B1.png", "wb") as f:
    f.write(png)
