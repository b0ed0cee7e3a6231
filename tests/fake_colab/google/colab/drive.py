"""``drive.mount`` of the rehearsal: Google Drive is the folder named by SFDPO_COLAB_DRIVE."""

import os


def mount(mountpoint: str, force_remount: bool = False) -> None:
    os.makedirs(os.environ["SFDPO_COLAB_DRIVE"], exist_ok=True)
    print(f"Mounted at {mountpoint} (rehearsal: {os.environ['SFDPO_COLAB_DRIVE']})")
