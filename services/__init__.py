"""easel's platform-neutral core: types, backends, jobs, quota, storage, images, watermark."""
