"""tGAN training: losses, augmentation, data sampling, resumable loops."""
