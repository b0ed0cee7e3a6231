"""A stand-in for Colab's ``google.colab`` (tests only): the kernel imports it at start, as Colab's does,
so ``"google.colab" in sys.modules`` holds and the notebooks take their Colab paths."""
