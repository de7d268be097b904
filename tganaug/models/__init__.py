"""tGAN networks (one per module), MONAI networks/nets style."""
