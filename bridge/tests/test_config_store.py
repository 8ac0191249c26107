import json
import os
import shutil
import tempfile
import threading
import unittest
from unittest import mock

from usagebridge import config_store
from usagebridge.config_store import ConfigStore


class ConfigStoreConcurrency(unittest.TestCase):
    def test_concurrent_updates_of_different_fields_lose_none(self):
        root = tempfile.mkdtemp(prefix="ub-config-")
        self.addCleanup(shutil.rmtree, root, True)
        store = ConfigStore(root)
        real_fsync = os.fsync

        def slow_fsync(fd):
            # Widens the read-modify-write window, as a slow disk would.
            threading.Event().wait(0.01)
            real_fsync(fd)

        start = threading.Barrier(2)

        def set_plan():
            start.wait()
            store.update({"plan": "max5"})

        def set_theme():
            start.wait()
            store.update({"theme": "dark"})

        with mock.patch.object(config_store.os, "fsync", slow_fsync):
            for _ in range(5):
                store.update({"plan": "pro", "theme": "light"})
                threads = [threading.Thread(target=set_plan), threading.Thread(target=set_theme)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                self.assertEqual((store.get()["plan"], store.get()["theme"]), ("max5", "dark"))
                with open(os.path.join(root, "config.json"), encoding="utf-8") as handle:
                    on_disk = json.load(handle)
                self.assertEqual((on_disk["plan"], on_disk["theme"]), ("max5", "dark"))


if __name__ == "__main__":
    unittest.main()
