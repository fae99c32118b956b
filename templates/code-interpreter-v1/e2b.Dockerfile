# code-interpreter-v1, the code-interpreter SDKs' default template. sandboxd builds it the
# first time a sandbox of it is created (serve --builtin-templates); `sandboxd template build
# templates/code-interpreter-v1` builds it on a running sandboxd by hand.
#
# Everything is installed from files scripts/setup.sh downloads into this dir (wheels/,
# kernel-wheels/, debs/; not in git), so the build reaches no package index or mirror.
FROM base
USER root
# Python: ipykernel and the data stack, pinned in requirements.txt.
COPY wheels /tmp/code-interpreter-wheels
RUN pip install --quiet --no-index --break-system-packages --disable-pip-version-check \
      --find-links /tmp/code-interpreter-wheels -r /tmp/code-interpreter-wheels/requirements.txt \
    && rm -rf /tmp/code-interpreter-wheels
# The other kernels' Python packages: bash_kernel, and Deno (JavaScript and TypeScript).
COPY kernel-wheels /tmp/code-interpreter-kernel-wheels
RUN pip install --quiet --no-index --break-system-packages --disable-pip-version-check \
      --find-links /tmp/code-interpreter-kernel-wheels \
      -r /tmp/code-interpreter-kernel-wheels/requirements-kernels.txt \
    && rm -rf /tmp/code-interpreter-kernel-wheels
# R and Debian's IRkernel: the whole dependency closure base lacks, so dpkg fetches nothing.
COPY debs /tmp/code-interpreter-debs
RUN DEBIAN_FRONTEND=noninteractive dpkg --install /tmp/code-interpreter-debs/*.deb > /dev/null \
    && rm -rf /tmp/code-interpreter-debs
# E2B's display hooks and kernel settings, in the IPython profile of root (the kernels' user).
COPY ipython_kernel_config.py /root/.ipython/profile_default/ipython_kernel_config.py
COPY startup /root/.ipython/profile_default/startup
# Sandboxes run as `user` in /home/user, as E2B's code-interpreter template does; its start
# command (e2b.toml) runs the execution server as root through sudo.
USER user
WORKDIR /home/user
