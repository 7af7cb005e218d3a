// Kept so `tsx scripts/intake-cli.ts <command>` (older docs, scripts and the image) still works: the
// CLI itself, operator commands included, lives in cli/ (`intake --help`).
import '../cli/main';
