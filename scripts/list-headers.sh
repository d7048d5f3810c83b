#!/bin/sh
# Lists every header as its include path (wire/seq.hpp, sluice/counters.hpp), one per line.
cd "$(dirname "$0")/.." || exit 1
(cd lib && find . -name '*.hpp' | sed 's|^\./||'; cd ../include && find . -name '*.hpp' | sed 's|^\./||') | sort
