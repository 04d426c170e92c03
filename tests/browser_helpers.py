"""Headless Chromium for the live view's tests (Debian's chromium and chromedriver, driven by
selenium). ``chrome()`` starts one; tests skip with the reason when either is missing."""
import os
import shutil
import tempfile

CHROMIUM = os.environ.get("CHANEMU_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHANEMU_CHROMEDRIVER", "/usr/bin/chromedriver")
# Flags for a closed network and a root user: no sandbox, no GPU, no background traffic.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900", "--force-device-scale-factor=1")


def missing():
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'chanemu[browser]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


def chrome():
    """A headless Chromium with its console log readable; ``.quit()`` it. Its profile lives in a
    fresh directory removed at quit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="chanemu-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The sanitizer runs (.ci/asan, .ci/ubsan) preload their runtime into this process; the
    # browser and its driver are not ours to check, and die with it preloaded.
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.endswith("SAN_OPTIONS")}
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=opts)
    quit_ = drv.quit

    def quit_and_clean():
        try:
            quit_()
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    drv.quit = quit_and_clean
    return drv


def console_errors(drv):
    """Console messages of level SEVERE since the last call."""
    return [m for m in drv.get_log("browser") if m.get("level") == "SEVERE"]
