// Must NOT compile: `Stdout`, `Stderr` and `PtyOutput` are branded, so a plain string is not stdout.
import type { Stdout } from 'sdk';

export const out: Stdout = 'not from a command';
