#!/usr/bin/env python3
"""Writes images/icon.png (128×128, the Marketplace icon): a sparse weight matrix on a rounded square — the kept
weights amber, the pruned ones faint, the diagonal (where OBS reads [F⁻¹]_qq) always kept. Standard library only."""
import struct, zlib, sys

N, R = 128, 22                      # size, corner radius
BG, KEPT, PRUNED = (31, 95, 74), (242, 201, 76), (255, 255, 255)
CELLS, CELL, GAP = 5, 18, 4
KEEP = {(0, 3), (1, 4), (2, 0), (3, 1), (4, 2)}   # off-diagonal survivors, one per row
OFF = (N - (CELLS * CELL + (CELLS - 1) * GAP)) // 2

def inside_rounded(x, y):
    cx = min(max(x, R), N - 1 - R); cy = min(max(y, R), N - 1 - R)
    return (x - cx) ** 2 + (y - cy) ** 2 <= R * R

def pixel(x, y):
    if not inside_rounded(x, y):
        return (0, 0, 0, 0)
    gx, rx = divmod(x - OFF, CELL + GAP); gy, ry = divmod(y - OFF, CELL + GAP)
    if 0 <= gx < CELLS and 0 <= gy < CELLS and rx < CELL and ry < CELL and x >= OFF and y >= OFF:
        if gx == gy or (gy, gx) in KEEP:
            return KEPT + (255,)
        a = 0.16                    # pruned: white at 16% over the background
        return tuple(round(b * (1 - a) + w * a) for b, w in zip(BG, PRUNED)) + (255,)
    return BG + (255,)

rows = b''.join(b'\x00' + bytes(c for x in range(N) for c in pixel(x, y)) for y in range(N))
chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', N, N, 8, 6, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b'')
open(sys.argv[1] if len(sys.argv) > 1 else 'images/icon.png', 'wb').write(png)
