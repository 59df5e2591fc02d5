"""Metrics: classification metrics, SWD, MS-SSIM, domain FID/KID, memorization."""
