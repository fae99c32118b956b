# code-interpreter-v1, the code-interpreter SDKs' default template. sandboxd builds it the
# first time a sandbox of it is created (serve --builtin-templates); `sandboxd template build
# templates/code-interpreter-v1` builds it on a running sandboxd by hand.
#
# ipykernel and everything it needs are pinned in requirements.txt and installed from the
# wheels scripts/setup.sh downloads into wheels/, so the build reaches no package index.
FROM base
USER root
COPY wheels /tmp/code-interpreter-wheels
RUN pip install --quiet --no-index --break-system-packages --disable-pip-version-check \
      --find-links /tmp/code-interpreter-wheels -r /tmp/code-interpreter-wheels/requirements.txt \
    && rm -rf /tmp/code-interpreter-wheels
# E2B's display hooks and kernel settings, in the IPython profile of root (the kernels' user).
COPY ipython_kernel_config.py /root/.ipython/profile_default/ipython_kernel_config.py
COPY startup /root/.ipython/profile_default/startup
