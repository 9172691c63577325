#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Prints the C sources of one layer's directory (DIR/*.c, sorted), for meson.build: a new file in
# a layer is built without editing the build. Meson reads this list when it configures; `make`
# reconfigures when a directory under src/ changed since then (a file was added or removed).
import os
import sys

directory = sys.argv[1]
print("\n".join(os.path.join(directory, f) for f in sorted(os.listdir(directory))
                if f.endswith(".c")))
