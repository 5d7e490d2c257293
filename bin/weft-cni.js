#!/usr/bin/env node
import '../dist/src/cni/main.js';
