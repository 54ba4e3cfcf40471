#!/bin/sh
# Stands in for the desktop's file manager in tests: records the folder it was asked to open.
echo "$2" >> "$1"
